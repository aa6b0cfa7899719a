"""Routing's use cases, each in the transaction the consumer runner (or an API route) opened."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.routing.domain import first_steps, plan, transition
from shared.clock import Clock
from shared.db import Connection
from shared.events.catalogue.base import DossierStatus
from shared.events.catalogue.common import AgencyRef
from shared.events.catalogue.intake import DossierAccepted
from shared.events.catalogue.routing import TOPIC, DossierProcessingStarted
from shared.events.envelope import Envelope
from shared.outbox.writer import Outbox
from shared.rules.store import RulesStore


@dataclass(frozen=True)
class RoutingContext:
    outbox: Outbox
    rules: RulesStore
    clock: Clock


async def start_route(ctx: RoutingContext, conn: Connection, envelope: Envelope) -> None:
    """On dossier.accepted: take the dossier into processing at the first step of the route of the catalogue
    version it was accepted under (status 2 -> 4), with that step's deadline."""
    accepted = DossierAccepted.model_validate(envelope.data)
    dossier_id = uuid.UUID(envelope.dossierid)
    version = ctx.rules.catalogue().numbered(accepted.procedure.code, int(accepted.procedure.catalogue_version))
    calendar, _ = ctx.rules.calendar()
    agencies = ctx.rules.agencies()
    now = ctx.clock.now()
    status = transition(DossierStatus.ACCEPTED, "start_processing")
    await conn.execute(
        """INSERT INTO dossiers (id, code, desk_code, procedure_code, procedure_version, status, received_at, due_at,
                                 calendar_version, accepted_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        dossier_id, accepted.dossier_code, accepted.receiving_agency.code, version.code, version.version, int(status),
        accepted.received_at, accepted.due_at, accepted.calendar_version, envelope.id,
    )  # fmt: skip
    first = first_steps(version)[0]
    agency = agencies.resolve(first.agency_role, accepted.receiving_agency.code)
    planned = plan(calendar, first, now)
    await conn.execute(
        """INSERT INTO steps (dossier_id, step_id, agency_code, kind, started_at, deadline_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        dossier_id, first.id, agency.code, first.kind, planned.starts_at, planned.deadline_at,
    )  # fmt: skip
    started = DossierProcessingStarted(
        step_id=first.id, agency=AgencyRef(code=agency.code, title=agency.name_vi),
        step_deadline_at=planned.deadline_at, due_at=accepted.due_at, started_at=now, actor=None,
        status_from=DossierStatus.ACCEPTED, status_to=DossierStatus.PROCESSING,
    )  # fmt: skip
    await ctx.outbox.add(
        conn, started, topic=TOPIC, dossier_id=envelope.dossierid, dossier_code=accepted.dossier_code,
        causation_id=envelope.id, traceparent=envelope.traceparent,
    )  # fmt: skip
