"""The facts intake and postal publish, applied to the status machine routing owns (design.md): each either changes
the dossier's status, with the resulting event, or is answered by fact.rejected with the reason. And the survey
answers notification publishes, kept for the 766 satisfaction index."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from services.routing import store
from services.routing.domain import TransitionRefusedError, apply_fact, moved_by, paused_minutes
from services.routing.handlers import RoutingContext, arm_alerts, publish, reloaded, responsible, return_result
from shared.db import Connection
from shared.events.catalogue import intake, postal, routing
from shared.events.catalogue.base import DossierStatus
from shared.events.catalogue.common import ReturnChannel
from shared.events.catalogue.notification import SurveyAnswered
from shared.events.catalogue.postal import Direction
from shared.events.envelope import Envelope

RejectionCode = Literal["wrong_status", "unknown_request", "amount_mismatch", "already_applied", "other"]


class FactRejectedError(Exception):
    def __init__(self, code: RejectionCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code


async def known_dossier(conn: Connection, envelope: Envelope) -> bool:
    """A fact is applied once routing holds the dossier (the topics have no order between them)."""
    return bool(await conn.fetchval("SELECT 1 FROM dossiers WHERE id = $1", uuid.UUID(envelope.dossierid)))


def is_about_the_result(envelope: Envelope) -> bool:
    """Shipments of the pickup direction carry the dossier to the desk: intake's business, not a fact for routing."""
    return not envelope.type.startswith("shipment.") or (envelope.data or {}).get("direction") == Direction.RETURN


async def ready(conn: Connection, envelope: Envelope) -> bool:
    return not is_about_the_result(envelope) or await known_dossier(conn, envelope)


async def apply(ctx: RoutingContext, conn: Connection, envelope: Envelope) -> None:
    if not is_about_the_result(envelope):
        return
    dossier = await store.locked_dossier(conn, dossier_id=uuid.UUID(envelope.dossierid))
    assert dossier is not None  # the runner checked known_dossier first
    try:
        apply_fact(dossier.status, envelope.type)
        await APPLIERS[envelope.type](ctx, conn, dossier, envelope)
    except TransitionRefusedError as refused:
        await _reject(ctx, conn, dossier, envelope, "wrong_status", str(refused))
    except FactRejectedError as rejected:
        await _reject(ctx, conn, dossier, envelope, rejected.code, str(rejected))


async def _reject(
    ctx: RoutingContext, conn: Connection, dossier: store.DossierRow, fact: Envelope, code: RejectionCode, reason: str
) -> None:
    event = routing.FactRejected(
        fact_event_id=uuid.UUID(fact.id), fact_type=fact.type, reason_code=code, reason=reason,
        current_status=dossier.status, rejected_at=ctx.clock.now(),
    )  # fmt: skip
    await publish(ctx, conn, dossier, event, cause=fact)


async def _resume(
    ctx: RoutingContext, conn: Connection, dossier: store.DossierRow, request_event_id: uuid.UUID, kind: str,
    resumed_at: datetime,
) -> tuple[store.PauseRow, int]:  # fmt: skip
    """Close the pause the fact answers and move every open deadline later by the paused working time."""
    pause = await store.current_pause(conn, dossier.id)
    if pause is None or pause.kind != kind or pause.request_event_id != request_event_id:
        raise FactRejectedError("unknown_request", f"it answers {request_event_id}, not the dossier's open request")
    calendar = ctx.calendar()
    minutes = paused_minutes(calendar, pause.requested_at, resumed_at)
    await store.close_pause(conn, pause.request_event_id, resumed_at, minutes)
    for step in await store.steps_of(conn, dossier.id):
        if step.is_open:
            await store.set_step_deadline(conn, dossier.id, step.step_id, moved_by(calendar, step.deadline_at, minutes))
    await store.update_dossier(
        conn, dossier.id, status=DossierStatus.PROCESSING, paused_at=None,
        due_at=moved_by(calendar, dossier.due_at, minutes),
        appointment_at=moved_by(calendar, dossier.appointment_at, minutes),
    )  # fmt: skip
    return pause, minutes


async def _supplement_received(
    ctx: RoutingContext, conn: Connection, dossier: store.DossierRow, fact: Envelope
) -> None:
    received = intake.DossierSupplementReceived.model_validate(fact.data)
    pause, minutes = await _resume(ctx, conn, dossier, received.request_event_id, "supplement", received.received_at)
    moved = await reloaded(conn, dossier)
    event = routing.DossierSupplementResumed(
        paused_at=pause.requested_at, resumed_at=received.received_at, paused_working_minutes=minutes,
        previous_due_at=dossier.due_at, due_at=moved.due_at,
        step_deadline_at=responsible(await store.steps_of(conn, dossier.id)).deadline_at,
        status_from=dossier.status, status_to=DossierStatus.PROCESSING,
    )  # fmt: skip
    await publish(ctx, conn, dossier, event, cause=fact)
    await arm_alerts(ctx, conn, moved)


async def _obligation_paid(ctx: RoutingContext, conn: Connection, dossier: store.DossierRow, fact: Envelope) -> None:
    paid = intake.DossierObligationPaid.model_validate(fact.data)
    pause = await store.current_pause(conn, dossier.id)
    if pause is not None and pause.amount_vnd is not None and paid.amount_vnd < pause.amount_vnd:
        raise FactRejectedError("amount_mismatch", f"{paid.amount_vnd} đồng paid of {pause.amount_vnd} due")
    pause, minutes = await _resume(ctx, conn, dossier, paid.request_event_id, "obligation", paid.paid_at)
    moved = await reloaded(conn, dossier)
    event = routing.DossierObligationSettled(
        amount_vnd=paid.amount_vnd, receipt_number=paid.receipt_number, paused_at=pause.requested_at,
        resumed_at=paid.paid_at, paused_working_minutes=minutes, previous_due_at=dossier.due_at, due_at=moved.due_at,
        status_from=dossier.status, status_to=DossierStatus.PROCESSING,
    )  # fmt: skip
    await publish(ctx, conn, dossier, event, cause=fact)
    await arm_alerts(ctx, conn, moved)


async def _withdrawal_requested(
    ctx: RoutingContext, conn: Connection, dossier: store.DossierRow, fact: Envelope
) -> None:
    requested = intake.DossierWithdrawalRequested.model_validate(fact.data)
    now = ctx.clock.now()
    await store.update_dossier(conn, dossier.id, status=DossierStatus.WITHDRAWN, ended_at=now, paused_at=None)
    await store.cancel_deadlines(conn, dossier.id, now)
    event = routing.DossierWithdrawn(
        reason=requested.reason, withdrawn_at=now, actor=None,
        status_from=dossier.status, status_to=DossierStatus.WITHDRAWN,
    )  # fmt: skip
    await publish(ctx, conn, dossier, event, cause=fact)


async def _handed_over(ctx: RoutingContext, conn: Connection, dossier: store.DossierRow, fact: Envelope) -> None:
    handed = intake.DossierResultHandedOver.model_validate(fact.data)
    await return_result(ctx, conn, dossier, ReturnChannel.DESK, handed.handed_over_at, None, handed.actor, fact)


async def _delivered(ctx: RoutingContext, conn: Connection, dossier: store.DossierRow, fact: Envelope) -> None:
    delivered = postal.ShipmentDelivered.model_validate(fact.data)
    await return_result(
        ctx, conn, dossier, ReturnChannel.POST, delivered.delivered_at, delivered.shipment_id, None, fact
    )


async def _returned_to_agency(ctx: RoutingContext, conn: Connection, dossier: store.DossierRow, fact: Envelope) -> None:
    """Still status 9: the result waits at the desk, where the applicant may collect it."""
    await store.update_dossier(conn, dossier.id, return_channel=ReturnChannel.DESK.value)


APPLIERS = {
    "dossier.supplement-received": _supplement_received,
    "dossier.obligation-paid": _obligation_paid,
    "dossier.withdrawal-requested": _withdrawal_requested,
    "dossier.result-handed-over": _handed_over,
    "shipment.delivered": _delivered,
    "shipment.returned-to-agency": _returned_to_agency,
}


async def survey_answered(conn: Connection, envelope: Envelope) -> None:
    answer = SurveyAnswered.model_validate(envelope.data)
    await store.record_survey(
        conn, answer.survey_id, uuid.UUID(envelope.dossierid), answer.dissatisfied, answer.complaint,
        answer.answered_at,
    )  # fmt: skip
