"""Routing's use cases, each in the transaction the consumer runner, the scheduler or an API route opened: the state
change and its outgoing events commit together."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.routing import store
from services.routing.commands import (
    CompleteStep,
    IssueApology,
    RequestObligation,
    RequestSupplement,
    StopProcessing,
)
from services.routing.domain import (
    ProcessingRuleError,
    check_apology,
    first_steps,
    is_route_finished,
    near_due_at,
    plan,
    steps_unblocked,
    supplement_request_is_second,
    timeliness,
    transition,
)
from shared.calendar.engine import WorkingCalendar
from shared.clock import Clock
from shared.db import Connection
from shared.events.catalogue import routing
from shared.events.catalogue.base import DossierStatus, EventData
from shared.events.catalogue.common import Actor, AgencyRef, ReturnChannel, StaffRole
from shared.events.catalogue.intake import DossierAccepted
from shared.events.envelope import Envelope
from shared.identity.staff import Staff
from shared.outbox.writer import Outbox
from shared.rules.procedures import ProcedureVersion, RouteStep
from shared.rules.store import RulesStore


class DossierNotFoundError(LookupError):
    pass


class OtherAgencyError(PermissionError):
    pass


class StepStateError(ValueError):
    """The step cannot take this action now (already completed, held by another officer): a 409."""


@dataclass(frozen=True)
class RoutingContext:
    outbox: Outbox
    rules: RulesStore
    clock: Clock
    near_due_window_hours: float = 8.0

    def calendar(self) -> WorkingCalendar:
        return self.rules.calendar()[0]

    def agency(self, code: str) -> AgencyRef:
        return AgencyRef(code=code, title=self.rules.agencies().by_code(code).name_vi)

    def procedure(self, dossier: store.DossierRow) -> ProcedureVersion:
        return self.rules.catalogue().numbered(dossier.procedure_code, dossier.procedure_version)


def actor_of(staff: Staff) -> Actor:
    return Actor(staff_id=staff.staff_id, agency_code=staff.agency, role=StaffRole(staff.role))


async def publish(
    ctx: RoutingContext, conn: Connection, dossier: store.DossierRow, event: EventData, cause: Envelope | None = None
) -> Envelope:
    """Into the outbox, and into the dossier's history (what Mẫu 05 and the accountability figures read)."""
    sent = await ctx.outbox.add(
        conn, event, topic=routing.TOPIC, dossier_id=str(dossier.id), dossier_code=dossier.code,
        causation_id=cause.id if cause else None, traceparent=cause.traceparent if cause else None,
    )  # fmt: skip
    await store.append_history(conn, sent, ctx.clock.now())
    return sent


def responsible(steps: list[store.StepRow]) -> store.StepRow:
    """The open step the dossier waits on (of parallel ones, the one due first): its agency answers for delays."""
    return min((s for s in steps if s.is_open), key=lambda s: (s.deadline_at, s.step_id))


async def arm_alerts(ctx: RoutingContext, conn: Connection, dossier: store.DossierRow) -> None:
    """The dossier's near-due and overdue deadlines, from its current due instant and appointment. Each warns once:
    a late dossier stays late whatever happens next, and the near-late warning comes again only for the new
    appointment of an apology."""
    now = ctx.clock.now()
    if await store.last_fired(conn, dossier.id, "overdue") is None:
        await store.arm_deadline(conn, dossier.id, "overdue", dossier.due_at, now)
    warned, apology = await store.last_fired(conn, dossier.id, "near_due"), await store.apology_of(conn, dossier.id)
    if warned is None or (apology is not None and apology.issued_at >= warned):
        near = near_due_at(ctx.calendar(), now, dossier.appointment_at, ctx.near_due_window_hours)
        await store.arm_deadline(conn, dossier.id, "near_due", near, now)


async def reloaded(conn: Connection, dossier: store.DossierRow) -> store.DossierRow:
    found = await store.locked_dossier(conn, dossier_id=dossier.id)
    assert found is not None  # locked by this transaction: it cannot have gone
    return found


async def start_route(ctx: RoutingContext, conn: Connection, envelope: Envelope) -> None:
    """On dossier.accepted: take the dossier into processing (status 2 -> 4) at the first step(s) of the route of the
    catalogue version it was accepted under; each first step is a handover from the desk (a Mẫu 05 line)."""
    accepted = DossierAccepted.model_validate(envelope.data)
    version = ctx.rules.catalogue().numbered(accepted.procedure.code, int(accepted.procedure.catalogue_version))
    now = ctx.clock.now()
    dossier = store.DossierRow(
        id=uuid.UUID(envelope.dossierid), code=accepted.dossier_code, desk_code=accepted.receiving_agency.code,
        procedure_code=version.code, procedure_version=version.version,
        status=transition(DossierStatus.ACCEPTED, "start_processing"), received_at=accepted.received_at,
        due_at=accepted.due_at, appointment_at=accepted.due_at, return_channel=accepted.return_channel.value,
        paused_at=None, ended_at=None, timeliness=None,
    )  # fmt: skip
    await store.insert_dossier(conn, dossier, accepted.calendar_version, envelope.id)
    firsts = first_steps(version)
    started = await _start_steps(ctx, conn, dossier, firsts, handed_over_by=None, actor=accepted.actor, cause=None)
    first = started[0]
    event = routing.DossierProcessingStarted(
        step_id=first.step_id, agency=ctx.agency(first.agency_code), step_deadline_at=first.deadline_at,
        due_at=accepted.due_at, started_at=now, actor=None,
        status_from=DossierStatus.ACCEPTED, status_to=DossierStatus.PROCESSING,
    )  # fmt: skip
    cause = await publish(ctx, conn, dossier, event, cause=envelope)
    await _announce_handovers(ctx, conn, dossier, started, accepted.receiving_agency, accepted.actor, cause)
    await arm_alerts(ctx, conn, dossier)


async def _start_steps(
    ctx: RoutingContext, conn: Connection, dossier: store.DossierRow, steps: list[RouteStep],
    handed_over_by: str | None, actor: Actor, cause: Envelope | None,
) -> list[store.StepRow]:  # fmt: skip
    now = ctx.clock.now()
    for step in steps:
        agency = ctx.rules.agencies().resolve(step.agency_role, dossier.desk_code)
        planned = plan(ctx.calendar(), step, now)
        await store.insert_step(
            conn, dossier.id, step.id, agency.code, step.kind, planned.starts_at, planned.deadline_at, handed_over_by
        )
    ids = {step.id for step in steps}
    return [s for s in await store.steps_of(conn, dossier.id) if s.step_id in ids]


async def _announce_handovers(
    ctx: RoutingContext, conn: Connection, dossier: store.DossierRow, started: list[store.StepRow],
    from_agency: AgencyRef, actor: Actor, cause: Envelope | None,
) -> None:  # fmt: skip
    shares = {step.id: step.share_hours for step in ctx.procedure(dossier).route or ()}
    for step in started:
        event = routing.StepTransferred(
            from_step_id=step.from_step_id or "reception", from_agency=from_agency, step_id=step.step_id,
            to_agency=ctx.agency(step.agency_code), share_working_hours=shares[step.step_id],
            step_deadline_at=step.deadline_at, transferred_at=step.started_at, actor=actor,
        )  # fmt: skip
        await publish(ctx, conn, dossier, event, cause=cause)


@dataclass(frozen=True)
class OnStep:
    """A staff action's subject: the dossier, locked, and the open step of the staff member's agency."""

    dossier: store.DossierRow
    steps: list[store.StepRow]
    step: store.StepRow


async def open_step(conn: Connection, staff: Staff, code: str, step_id: str, action: str = "act_on_step") -> OnStep:
    dossier = await store.locked_dossier(conn, code=code)
    if dossier is None:
        raise DossierNotFoundError(f"no dossier {code} in processing")
    steps = await store.steps_of(conn, dossier.id)
    step = next((s for s in steps if s.step_id == step_id), None)
    if step is None:
        raise DossierNotFoundError(f"dossier {code} has no started step {step_id}")
    if not staff.may_act_for(step.agency_code):
        raise OtherAgencyError(f"step {step_id} of {code} belongs to agency {step.agency_code}, not {staff.agency}")
    if not step.is_open:
        raise StepStateError(f"step {step_id} of {code} is already completed")
    if step.claimed_by not in (None, staff.staff_id) and staff.role != "admin":
        raise StepStateError(f"step {step_id} of {code} is held by officer {step.claimed_by}")
    transition(dossier.status, action)
    return OnStep(dossier, steps, step)


async def claim_step(ctx: RoutingContext, conn: Connection, staff: Staff, code: str, step_id: str) -> None:
    on = await open_step(conn, staff, code, step_id, action="apologise")  # claiming is allowed while paused
    await store.claim_step(conn, on.dossier.id, step_id, staff.staff_id, ctx.clock.now())


async def complete_step(
    ctx: RoutingContext, conn: Connection, staff: Staff, code: str, step_id: str, command: CompleteStep
) -> None:
    """The step is done: the next steps start (a join once all its branches are done), or — on the last step — the
    result is ready (status 9), and returned at once when it goes back electronically."""
    on = await open_step(conn, staff, code, step_id)
    now, calendar, actor = ctx.clock.now(), ctx.calendar(), actor_of(staff)
    done_in_time = timeliness(calendar, on.step.deadline_at, now)
    await store.complete_step(conn, on.dossier.id, step_id, staff.staff_id, now, command.note, done_in_time.value)
    agency = ctx.agency(on.step.agency_code)
    completed = routing.StepCompleted(
        step_id=step_id, agency=agency, started_at=on.step.started_at, step_deadline_at=on.step.deadline_at,
        completed_at=now, timeliness=done_in_time, actor=actor,
    )  # fmt: skip
    cause = await publish(ctx, conn, on.dossier, completed)
    version = ctx.procedure(on.dossier)
    done = {s.step_id for s in on.steps if not s.is_open} | {step_id}
    if not is_route_finished(version, done):
        if command.result is not None:
            raise ProcessingRuleError("the result is given on the last step of the route, not on this one")
        following = steps_unblocked(version, done, {s.step_id for s in on.steps})
        started = await _start_steps(ctx, conn, on.dossier, following, step_id, actor, cause)
        await _announce_handovers(ctx, conn, on.dossier, started, agency, actor, cause)
        return
    if command.result is None:
        raise ProcessingRuleError("this is the last step of the route: give the result (decision and documents)")
    result = command.result
    channel = result.return_channel or ReturnChannel(on.dossier.return_channel)
    status = transition(on.dossier.status, "ready_result")
    outcome = timeliness(calendar, on.dossier.due_at, now)
    await store.update_dossier(conn, on.dossier.id, status=status, ended_at=now, timeliness=outcome.value,
                               return_channel=channel.value)  # fmt: skip
    await store.cancel_deadlines(conn, on.dossier.id, now)
    ready = routing.DossierResultReady(
        agency=agency, decision=result.decision, documents=result.documents, return_channel=channel,
        fee_due_vnd=result.fee_due_vnd, due_at=on.dossier.due_at, completed_at=now, timeliness=outcome, actor=actor,
        status_from=on.dossier.status, status_to=DossierStatus.RESULT_READY,
    )  # fmt: skip
    cause = await publish(ctx, conn, on.dossier, ready, cause=cause)
    if channel is ReturnChannel.ELECTRONIC:
        await return_result(ctx, conn, await reloaded(conn, on.dossier), channel, now, None, None, cause)


async def return_result(
    ctx: RoutingContext, conn: Connection, dossier: store.DossierRow, how: ReturnChannel, at: datetime,
    shipment_id: uuid.UUID | None, actor: Actor | None, cause: Envelope,
) -> None:  # fmt: skip
    status = transition(dossier.status, "return_result")
    await store.update_dossier(conn, dossier.id, status=status)
    returned = routing.DossierResultReturned(
        how=how, shipment_id=shipment_id, returned_at=at, actor=actor,
        status_from=dossier.status, status_to=DossierStatus.RESULT_RETURNED,
    )  # fmt: skip
    await publish(ctx, conn, dossier, returned, cause=cause)


async def _pause(
    ctx: RoutingContext, conn: Connection, on: OnStep, event: EventData, status: DossierStatus, kind: str,
    amount_vnd: int | None = None, second_request: bool = False,
) -> None:  # fmt: skip
    """The clock stands still from now (status 5 or 6); the request's event id is what the answering fact names."""
    now = ctx.clock.now()
    sent = await publish(ctx, conn, on.dossier, event)
    pause = store.PauseRow(uuid.UUID(sent.id), kind, on.step.step_id, on.step.agency_code, amount_vnd, now)
    await store.open_pause(conn, on.dossier.id, pause, second_request=second_request)
    await store.update_dossier(conn, on.dossier.id, status=status, paused_at=now)
    await store.cancel_deadlines(conn, on.dossier.id, now)


async def request_supplement(
    ctx: RoutingContext, conn: Connection, staff: Staff, code: str, step_id: str, command: RequestSupplement
) -> None:
    """Status 5 (Mẫu 02 during processing): the clock pauses until intake records the supplement."""
    on = await open_step(conn, staff, code, step_id, action="request_supplement")
    second = supplement_request_is_second(
        await store.supplement_requests_of(conn, on.dossier.id), command.second_request_reason
    )
    event = routing.DossierSupplementRequested(
        step_id=step_id, requesting_agency=ctx.agency(on.step.agency_code), items=command.items,
        reason=command.reason, second_request=second,
        second_request_reason=command.second_request_reason if second else None, requested_at=ctx.clock.now(),
        actor=actor_of(staff), status_from=on.dossier.status, status_to=DossierStatus.SUPPLEMENT_REQUESTED,
    )  # fmt: skip
    await _pause(ctx, conn, on, event, event.status_to, "supplement", second_request=second)


async def request_obligation(
    ctx: RoutingContext, conn: Connection, staff: Staff, code: str, step_id: str, command: RequestObligation
) -> None:
    """Status 6: the applicant is notified of a financial obligation; the clock pauses until it is paid."""
    on = await open_step(conn, staff, code, step_id, action="request_obligation")
    amount = sum(item.amount_vnd for item in command.items)
    event = routing.DossierObligationRequested(
        step_id=step_id, requesting_agency=ctx.agency(on.step.agency_code), notice_number=command.notice_number,
        items=command.items, amount_vnd=amount, pay_by=command.pay_by, requested_at=ctx.clock.now(),
        actor=actor_of(staff), status_from=on.dossier.status, status_to=DossierStatus.OBLIGATION_REQUESTED,
    )  # fmt: skip
    await _pause(ctx, conn, on, event, event.status_to, "obligation", amount_vnd=amount)


async def stop_processing(
    ctx: RoutingContext, conn: Connection, staff: Staff, code: str, step_id: str, command: StopProcessing
) -> None:
    """Status 8 with the reason: processing ends here, judged against the due instant."""
    on = await open_step(conn, staff, code, step_id, action="stop")
    now = ctx.clock.now()
    outcome = timeliness(ctx.calendar(), on.dossier.due_at, now)
    await store.update_dossier(conn, on.dossier.id, status=DossierStatus.STOPPED, ended_at=now,
                               timeliness=outcome.value)  # fmt: skip
    await store.cancel_deadlines(conn, on.dossier.id, now)
    event = routing.DossierStopped(
        step_id=step_id, agency=ctx.agency(on.step.agency_code), reason=command.reason,
        legal_basis=command.legal_basis, stopped_at=now, timeliness=outcome, actor=actor_of(staff),
        status_from=on.dossier.status, status_to=DossierStatus.STOPPED,
    )  # fmt: skip
    await publish(ctx, conn, on.dossier, event)


async def issue_apology(ctx: RoutingContext, conn: Connection, staff: Staff, code: str, command: IssueApology) -> None:
    """Mẫu 04, signed by the head of the agency the dossier waits on: a new appointment, the due instant kept."""
    dossier = await store.locked_dossier(conn, code=code)
    if dossier is None:
        raise DossierNotFoundError(f"no dossier {code} in processing")
    steps = await store.steps_of(conn, dossier.id)
    # Before the status: another agency's head must not learn where the dossier stands from the refusal.
    if not any(staff.may_act_for(s.agency_code) for s in steps):
        raise OtherAgencyError(f"dossier {code} is not one of your agency's")
    transition(dossier.status, "apologise")
    step = responsible(steps)
    if not staff.may_act_for(step.agency_code):
        raise OtherAgencyError(f"dossier {code} waits on agency {step.agency_code}: only its head may apologise")
    now = ctx.clock.now()
    already = await store.apology_of(conn, dossier.id) is not None
    check_apology(ctx.calendar(), now, dossier.due_at, command.new_appointment_at, already)
    head = actor_of(staff)
    await store.insert_apology(conn, dossier.id, store.ApologyRow(
        step.agency_code, command.reason, dossier.due_at, command.new_appointment_at, now, staff.staff_id))  # fmt: skip
    await store.update_dossier(conn, dossier.id, appointment_at=command.new_appointment_at)
    event = routing.DossierApologyIssued(
        agency=ctx.agency(step.agency_code), reason=command.reason, due_at=dossier.due_at,
        new_appointment_at=command.new_appointment_at, issued_at=now, signed_by=head, actor=head,
    )  # fmt: skip
    await publish(ctx, conn, dossier, event)
    if dossier.status is DossierStatus.PROCESSING:  # a paused clock has no alerts to move
        await arm_alerts(ctx, conn, await reloaded(conn, dossier))
