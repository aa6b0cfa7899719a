"""All of routing's SQL: dossiers and their steps, pauses, apologies, deadlines, surveys and history."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.db import Connection
from shared.events.catalogue.base import DossierStatus
from shared.events.envelope import Envelope


@dataclass(frozen=True)
class DossierRow:
    id: uuid.UUID
    code: str
    desk_code: str
    procedure_code: str
    procedure_version: int
    status: DossierStatus
    received_at: datetime
    due_at: datetime
    appointment_at: datetime
    return_channel: str
    paused_at: datetime | None
    ended_at: datetime | None
    timeliness: str | None


@dataclass(frozen=True)
class StepRow:
    dossier_id: uuid.UUID
    step_id: str
    agency_code: str
    kind: str
    from_step_id: str | None
    started_at: datetime
    deadline_at: datetime
    claimed_by: str | None
    completed_at: datetime | None
    completed_by: str | None
    note: str | None
    timeliness: str | None

    @property
    def is_open(self) -> bool:
        return self.completed_at is None


DOSSIER_COLUMNS = """id, code, desk_code, procedure_code, procedure_version, status, received_at, due_at,
                     appointment_at, return_channel, paused_at, ended_at, timeliness"""
STEP_COLUMNS = """dossier_id, step_id, agency_code, kind, from_step_id, started_at, deadline_at, claimed_by,
                  completed_at, completed_by, note, timeliness"""
# The dossier's fields a use case may change; anything else is fixed at acceptance.
CHANGEABLE = frozenset({"status", "due_at", "appointment_at", "return_channel", "paused_at", "ended_at", "timeliness"})


def _dossier(record: Any) -> DossierRow:
    values = dict(record)
    values["status"] = DossierStatus(values["status"])
    return DossierRow(**values)


async def insert_dossier(conn: Connection, row: DossierRow, calendar_version: str, accepted_event_id: str) -> None:
    await conn.execute(
        f"""INSERT INTO dossiers ({DOSSIER_COLUMNS}, calendar_version, accepted_event_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)""",
        row.id, row.code, row.desk_code, row.procedure_code, row.procedure_version, int(row.status), row.received_at,
        row.due_at, row.appointment_at, row.return_channel, row.paused_at, row.ended_at, row.timeliness,
        calendar_version, accepted_event_id,
    )  # fmt: skip


async def locked_dossier(
    conn: Connection, *, dossier_id: uuid.UUID | None = None, code: str | None = None
) -> DossierRow | None:
    """The dossier, locked until the transaction ends: one use case at a time decides it."""
    column, value = ("id", dossier_id) if dossier_id is not None else ("code", code)
    record = await conn.fetchrow(f"SELECT {DOSSIER_COLUMNS} FROM dossiers WHERE {column} = $1 FOR UPDATE", value)
    return _dossier(record) if record else None


async def dossier_by_code(conn: Connection, code: str) -> DossierRow | None:
    record = await conn.fetchrow(f"SELECT {DOSSIER_COLUMNS} FROM dossiers WHERE code = $1", code)
    return _dossier(record) if record else None


async def update_dossier(conn: Connection, dossier_id: uuid.UUID, **changes: Any) -> None:
    unknown = set(changes) - CHANGEABLE
    assert not unknown, f"not changeable: {unknown}"
    assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(changes, start=2))
    values = [int(v) if isinstance(v, DossierStatus) else v for v in changes.values()]
    await conn.execute(f"UPDATE dossiers SET {assignments}, updated_at = now() WHERE id = $1", dossier_id, *values)


async def insert_step(
    conn: Connection, dossier_id: uuid.UUID, step_id: str, agency_code: str, kind: str,
    started_at: datetime, deadline_at: datetime, from_step_id: str | None,
) -> None:  # fmt: skip
    await conn.execute(
        """INSERT INTO steps (dossier_id, step_id, agency_code, kind, started_at, deadline_at, from_step_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        dossier_id, step_id, agency_code, kind, started_at, deadline_at, from_step_id,
    )  # fmt: skip


async def steps_of(conn: Connection, dossier_id: uuid.UUID) -> list[StepRow]:
    records = await conn.fetch(
        f"SELECT {STEP_COLUMNS} FROM steps WHERE dossier_id = $1 ORDER BY started_at, step_id", dossier_id
    )
    return [StepRow(**dict(r)) for r in records]


async def claim_step(conn: Connection, dossier_id: uuid.UUID, step_id: str, staff_id: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE steps SET claimed_by = $3, claimed_at = $4 WHERE dossier_id = $1 AND step_id = $2",
        dossier_id, step_id, staff_id, at,
    )  # fmt: skip


async def complete_step(
    conn: Connection, dossier_id: uuid.UUID, step_id: str, staff_id: str, at: datetime, note: str, timeliness: str
) -> None:
    await conn.execute(
        """UPDATE steps SET completed_at = $3, completed_by = $4, note = $5, timeliness = $6,
                            claimed_by = coalesce(claimed_by, $4), claimed_at = coalesce(claimed_at, $3)
           WHERE dossier_id = $1 AND step_id = $2""",
        dossier_id, step_id, at, staff_id, note, timeliness,
    )  # fmt: skip


async def set_step_deadline(conn: Connection, dossier_id: uuid.UUID, step_id: str, deadline_at: datetime) -> None:
    await conn.execute(
        "UPDATE steps SET deadline_at = $3 WHERE dossier_id = $1 AND step_id = $2", dossier_id, step_id, deadline_at
    )


@dataclass(frozen=True)
class PauseRow:
    request_event_id: uuid.UUID
    kind: str
    step_id: str
    agency_code: str
    amount_vnd: int | None
    requested_at: datetime


async def open_pause(conn: Connection, dossier_id: uuid.UUID, pause: PauseRow, *, second_request: bool = False) -> None:
    await conn.execute(
        """INSERT INTO pauses (request_event_id, dossier_id, kind, step_id, agency_code, second_request, amount_vnd,
                               requested_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        pause.request_event_id, dossier_id, pause.kind, pause.step_id, pause.agency_code, second_request,
        pause.amount_vnd, pause.requested_at,
    )  # fmt: skip


async def current_pause(conn: Connection, dossier_id: uuid.UUID) -> PauseRow | None:
    record = await conn.fetchrow(
        """SELECT request_event_id, kind, step_id, agency_code, amount_vnd, requested_at
           FROM pauses WHERE dossier_id = $1 AND resumed_at IS NULL""",
        dossier_id,
    )
    return PauseRow(**dict(record)) if record else None


async def close_pause(conn: Connection, request_event_id: uuid.UUID, resumed_at: datetime, minutes: int) -> None:
    await conn.execute(
        "UPDATE pauses SET resumed_at = $2, paused_minutes = $3 WHERE request_event_id = $1",
        request_event_id, resumed_at, minutes,
    )  # fmt: skip


async def supplement_requests_of(conn: Connection, dossier_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM pauses WHERE dossier_id = $1 AND kind = 'supplement'", dossier_id
    )
    return count


@dataclass(frozen=True)
class ApologyRow:
    agency_code: str
    reason: str
    due_at: datetime
    new_appointment_at: datetime
    issued_at: datetime
    signed_by: str


async def apology_of(conn: Connection, dossier_id: uuid.UUID) -> ApologyRow | None:
    record = await conn.fetchrow(
        """SELECT agency_code, reason, due_at, new_appointment_at, issued_at, signed_by
           FROM apologies WHERE dossier_id = $1""",
        dossier_id,
    )
    return ApologyRow(**dict(record)) if record else None


async def insert_apology(conn: Connection, dossier_id: uuid.UUID, apology: ApologyRow) -> None:
    await conn.execute(
        """INSERT INTO apologies (dossier_id, agency_code, reason, due_at, new_appointment_at, issued_at, signed_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        dossier_id, apology.agency_code, apology.reason, apology.due_at, apology.new_appointment_at,
        apology.issued_at, apology.signed_by,
    )  # fmt: skip


async def arm_deadline(conn: Connection, dossier_id: uuid.UUID, kind: str, fire_at: datetime, now: datetime) -> None:
    """Replace the dossier's armed deadline of this kind: a moved due instant or appointment moves its alert."""
    await cancel_deadlines(conn, dossier_id, now, kinds=(kind,))
    await conn.execute(
        "INSERT INTO deadlines (dossier_id, kind, fire_at) VALUES ($1, $2, $3)", dossier_id, kind, fire_at
    )


async def cancel_deadlines(
    conn: Connection, dossier_id: uuid.UUID, now: datetime, kinds: tuple[str, ...] = ("near_due", "overdue")
) -> None:
    await conn.execute(
        """UPDATE deadlines SET cancelled_at = $2
           WHERE dossier_id = $1 AND kind = ANY($3) AND fired_at IS NULL AND cancelled_at IS NULL""",
        dossier_id, now, list(kinds),
    )  # fmt: skip


@dataclass(frozen=True)
class DeadlineRow:
    id: int
    dossier_id: uuid.UUID
    kind: str
    fire_at: datetime


async def due_deadlines(conn: Connection, now: datetime, limit: int) -> list[DeadlineRow]:
    """Armed deadlines whose instant has come (not locked: see still_armed)."""
    records = await conn.fetch(
        """SELECT id, dossier_id, kind, fire_at FROM deadlines
           WHERE fired_at IS NULL AND cancelled_at IS NULL AND fire_at <= $1 ORDER BY fire_at LIMIT $2""",
        now, limit,
    )  # fmt: skip
    return [DeadlineRow(**dict(r)) for r in records]


async def still_armed(conn: Connection, deadline_id: int) -> bool:
    """Locks the deadline if it is still armed. Called with its dossier already locked: every use case locks the
    dossier first and its deadlines after, so that no two transactions wait on each other."""
    armed = await conn.fetchval(
        "SELECT true FROM deadlines WHERE id = $1 AND fired_at IS NULL AND cancelled_at IS NULL FOR UPDATE",
        deadline_id,
    )
    return bool(armed)


async def last_fired(conn: Connection, dossier_id: uuid.UUID, kind: str) -> datetime | None:
    fired: datetime | None = await conn.fetchval(
        "SELECT max(fired_at) FROM deadlines WHERE dossier_id = $1 AND kind = $2", dossier_id, kind
    )
    return fired


async def oldest_armed_deadline(conn: Connection) -> datetime | None:
    oldest: datetime | None = await conn.fetchval(
        "SELECT min(fire_at) FROM deadlines WHERE fired_at IS NULL AND cancelled_at IS NULL"
    )
    return oldest


async def mark_fired(conn: Connection, deadline_id: int, now: datetime) -> None:
    await conn.execute("UPDATE deadlines SET fired_at = $2 WHERE id = $1", deadline_id, now)


async def record_survey(
    conn: Connection, survey_id: uuid.UUID, dossier_id: uuid.UUID, dissatisfied: bool, complaint: bool, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO surveys (survey_id, dossier_id, dissatisfied, complaint, answered_at)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (survey_id) DO NOTHING""",
        survey_id, dossier_id, dissatisfied, complaint, at,
    )  # fmt: skip


async def append_history(conn: Connection, envelope: Envelope, occurred_at: datetime) -> None:
    await conn.execute(
        """INSERT INTO history (dossier_id, dossier_seq, event_type, occurred_at, data)
           VALUES ($1, $2, $3, $4, $5)""",
        uuid.UUID(envelope.dossierid), envelope.dossierseq, envelope.type, occurred_at, json.dumps(envelope.data),
    )  # fmt: skip


async def history_of(conn: Connection, dossier_id: uuid.UUID) -> list[tuple[str, datetime, dict[str, Any]]]:
    records = await conn.fetch(
        "SELECT event_type, occurred_at, data FROM history WHERE dossier_id = $1 ORDER BY dossier_seq", dossier_id
    )
    return [(r["event_type"], r["occurred_at"], json.loads(r["data"])) for r in records]
