"""Routing's rules, without I/O: the dossier's status machine after acceptance (statuses 4 to 10 of domain.md),
which facts from intake and postal it accepts in which status, and the route plan — which steps start at
acceptance, which start when others finish (joins wait for all), and each step's deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.calendar.engine import WorkingCalendar
from shared.calendar.zone import local
from shared.events.catalogue.base import DossierStatus as S
from shared.events.catalogue.common import Timeliness
from shared.rules.procedures import ProcedureVersion, RouteStep


class TransitionRefusedError(ValueError):
    """The dossier's status does not allow it; the message is the reason (a 409 at the edge, or fact.rejected)."""


# What each status allows: action -> (statuses it may happen in, status it leads to; none = it stays).
TRANSITIONS: dict[str, tuple[frozenset[S], S | None]] = {
    "start_processing": (frozenset({S.ACCEPTED}), S.PROCESSING),
    "request_supplement": (frozenset({S.PROCESSING}), S.SUPPLEMENT_REQUESTED),
    "resume_after_supplement": (frozenset({S.SUPPLEMENT_REQUESTED}), S.PROCESSING),
    "request_obligation": (frozenset({S.PROCESSING}), S.OBLIGATION_REQUESTED),
    "settle_obligation": (frozenset({S.OBLIGATION_REQUESTED}), S.PROCESSING),
    "withdraw": (frozenset({S.ACCEPTED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.OBLIGATION_REQUESTED}), S.WITHDRAWN),
    "stop": (frozenset({S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.OBLIGATION_REQUESTED}), S.STOPPED),
    "ready_result": (frozenset({S.PROCESSING}), S.RESULT_READY),
    "return_result": (frozenset({S.RESULT_READY}), S.RESULT_RETURNED),
    "take_result_back": (frozenset({S.RESULT_READY}), None),
    # What staff do on a step, and a head's apology: only while the dossier is being processed.
    "act_on_step": (frozenset({S.PROCESSING}), None),
    "apologise": (frozenset({S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.OBLIGATION_REQUESTED}), None),
}

# The facts other services publish, and the action each asks of the status machine.
FACT_ACTIONS = {
    "dossier.supplement-received": "resume_after_supplement",
    "dossier.obligation-paid": "settle_obligation",
    "dossier.withdrawal-requested": "withdraw",
    "dossier.result-handed-over": "return_result",
    "shipment.delivered": "return_result",
    # The undeliverable result is back at the desk: still status 9, the applicant collects it there.
    "shipment.returned-to-agency": "take_result_back",
}

NAMES = {
    S.ACCEPTED: "accepted", S.PROCESSING: "being processed", S.SUPPLEMENT_REQUESTED: "waiting for a supplement",
    S.OBLIGATION_REQUESTED: "waiting for a financial obligation", S.WITHDRAWN: "withdrawn", S.STOPPED: "stopped",
    S.RESULT_READY: "ready (result not returned yet)", S.RESULT_RETURNED: "returned",
}  # fmt: skip


def transition(current: S, action: str) -> S:
    """The status `action` leads to from `current`; TransitionRefusedError saying why not."""
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        raise TransitionRefusedError(
            f"the dossier is {NAMES.get(current, str(int(current)))}: it cannot {action.replace('_', ' ')}"
        )
    return target or current


def apply_fact(current: S, fact_type: str) -> S:
    """The status a fact leads to, or TransitionRefusedError whose message goes into fact.rejected."""
    return transition(current, FACT_ACTIONS[fact_type])


@dataclass(frozen=True)
class PlannedStep:
    step: RouteStep
    starts_at: datetime
    deadline_at: datetime


def first_steps(procedure: ProcedureVersion) -> list[RouteStep]:
    return [step for step in procedure.route or () if not step.after]


def steps_unblocked(procedure: ProcedureVersion, done: set[str], started: set[str]) -> list[RouteStep]:
    """The steps whose predecessors are all done and that have not started: a join waits for every branch."""
    return [
        step
        for step in procedure.route or ()
        if step.after and step.id not in started and step.id not in done and set(step.after) <= done
    ]


def is_route_finished(procedure: ProcedureVersion, done: set[str]) -> bool:
    return {step.id for step in procedure.route or ()} <= done


def plan(calendar: WorkingCalendar, step: RouteStep, starts_at: datetime) -> PlannedStep:
    """A step's deadline: its start (its handover) plus its share of the total, in working time."""
    return PlannedStep(step, starts_at, calendar.add_working_time(starts_at, step.share_hours))


class ProcessingRuleError(ValueError):
    """A request that the rules of processing forbid whatever the status (a 422 at the edge); the message says why."""


def paused_minutes(calendar: WorkingCalendar, paused_at: datetime, resumed_at: datetime) -> int:
    """The working time the clock stood still, in whole minutes (what the due instant moves by)."""
    return int(calendar.working_time_between(paused_at, max(paused_at, resumed_at)).total_seconds() // 60)


def moved_by(calendar: WorkingCalendar, instant: datetime, minutes: int) -> datetime:
    """An instant moved later by paused working time: a deadline after a supplement or a payment."""
    return calendar.add_working_time(instant, minutes / 60) if minutes else instant


def supplement_request_is_second(earlier_requests: int, second_request_reason: str | None) -> bool:
    """The applicant is guided once, completely (domain.md): a later request needs a reason and counts against
    the requesting agency."""
    if earlier_requests and not (second_request_reason or "").strip():
        raise ProcessingRuleError(
            "this dossier was already asked to supplement once: a second request needs second_request_reason"
        )
    return earlier_requests > 0


def check_apology(
    calendar: WorkingCalendar, now: datetime, due_at: datetime, new_appointment_at: datetime, already: bool
) -> None:
    """Mẫu 04 rules (domain.md): once per dossier, issued at least one working day before the due date, with a
    new appointment after the original due instant."""
    if already:
        raise ProcessingRuleError("an apology was already issued for this dossier: it may be rescheduled only once")
    latest_day = calendar.previous_working_day(local(due_at).date())
    if local(now).date() > latest_day:
        raise ProcessingRuleError(
            f"an apology must be issued at least one working day before the due date {local(due_at).date()}: "
            f"the last day for it was {latest_day}"
        )
    if new_appointment_at <= due_at:
        raise ProcessingRuleError("the new appointment must be later than the original due instant")


def near_due_at(calendar: WorkingCalendar, now: datetime, appointment_at: datetime, window_hours: float) -> datetime:
    """When the dossier enters the near-late window before its appointment: the instant from which at most
    `window_hours` of working time remain (now, if they already do)."""
    remaining = calendar.working_hours_between(now, appointment_at) if appointment_at > now else 0.0
    return calendar.add_working_time(now, remaining - window_hours) if remaining > window_hours else now


def timeliness(calendar: WorkingCalendar, deadline_at: datetime, finished_at: datetime) -> Timeliness:
    return Timeliness(calendar.classify_finished(deadline_at, finished_at))
