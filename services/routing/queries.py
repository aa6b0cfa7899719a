"""Routing's read side: the agencies' work queues and the rows the accountability figures count. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.routing.accountability import EndedDossier, Inputs, PauseFacts, StepFacts
from shared.db import Connection


@dataclass(frozen=True)
class QueuedStep:
    code: str
    procedure_code: str
    status: int
    step_id: str
    kind: str
    started_at: datetime
    deadline_at: datetime
    claimed_by: str | None
    paused_at: datetime | None
    appointment_at: datetime


async def open_steps_of(conn: Connection, agency: str, procedure_code: str | None, limit: int) -> list[QueuedStep]:
    records = await conn.fetch(
        """SELECT d.code, d.procedure_code, d.status, s.step_id, s.kind, s.started_at, s.deadline_at, s.claimed_by,
                  d.paused_at, d.appointment_at
           FROM steps s JOIN dossiers d ON d.id = s.dossier_id
           WHERE s.agency_code = $1 AND s.completed_at IS NULL AND d.ended_at IS NULL
             AND ($2::text IS NULL OR d.procedure_code = $2)
           ORDER BY s.deadline_at, d.code LIMIT $3""",
        agency, procedure_code, limit,
    )  # fmt: skip
    return [QueuedStep(**dict(r)) for r in records]


async def open_request_of(conn: Connection, dossier_id: object) -> dict[str, object] | None:
    """The supplement or obligation request the dossier waits on: the desk names its id when recording the answer."""
    record = await conn.fetchrow(
        """SELECT request_event_id, kind, step_id, agency_code, amount_vnd, requested_at
           FROM pauses WHERE dossier_id = $1 AND resumed_at IS NULL""",
        dossier_id,
    )
    return dict(record) if record else None


async def accountability_inputs(conn: Connection, since: datetime) -> Inputs:
    """Everything that may count in a period starting at `since`, plus every open step (the in-progress figures)."""
    steps = await conn.fetch(
        """SELECT s.dossier_id::text, s.step_id, s.agency_code, s.started_at, s.deadline_at, s.completed_at,
                  s.timeliness, d.paused_at
           FROM steps s JOIN dossiers d ON d.id = s.dossier_id
           WHERE (s.completed_at IS NULL AND d.ended_at IS NULL) OR s.started_at >= $1 OR s.completed_at >= $1
              OR d.ended_at >= $1""",
        since,
    )
    pauses = await conn.fetch(
        """SELECT dossier_id::text, agency_code, kind, second_request, requested_at, resumed_at FROM pauses
           WHERE requested_at >= $1 OR resumed_at >= $1 OR resumed_at IS NULL""",
        since,
    )
    apologies = await conn.fetch("SELECT agency_code, issued_at FROM apologies WHERE issued_at >= $1", since)
    ended = await conn.fetch(
        """SELECT d.id::text AS dossier_id, d.ended_at,
                  coalesce(bool_or(v.dissatisfied OR v.complaint), false) AS dissatisfied
           FROM dossiers d LEFT JOIN surveys v ON v.dossier_id = d.id
           WHERE d.ended_at >= $1 AND d.status IN (8, 9, 10)
           GROUP BY d.id, d.ended_at""",
        since,
    )
    return Inputs(
        steps=[StepFacts(*r.values()) for r in steps],
        pauses=[PauseFacts(*r.values()) for r in pauses],
        apologies=[(r["agency_code"], r["issued_at"]) for r in apologies],
        ended=[EndedDossier(*r.values()) for r in ended],
    )
