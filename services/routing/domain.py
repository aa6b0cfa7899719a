"""Routing's rules, without I/O: the dossier's status machine after acceptance (statuses 4 to 10 of domain.md),
which facts from intake and postal it accepts in which status, and the route plan — which steps start at
acceptance, which start when others finish (joins wait for all), and each step's deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.calendar.engine import WorkingCalendar
from shared.events.catalogue.base import DossierStatus as S
from shared.rules.procedures import ProcedureVersion, RouteStep


class TransitionRefusedError(ValueError):
    """The dossier's status does not allow it; the message is the reason (a 409 at the edge, or fact.rejected)."""


# What each status allows: action -> (statuses it may happen in, status it leads to).
TRANSITIONS: dict[str, tuple[frozenset[S], S]] = {
    "start_processing": (frozenset({S.ACCEPTED}), S.PROCESSING),
    "request_supplement": (frozenset({S.PROCESSING}), S.SUPPLEMENT_REQUESTED),
    "resume_after_supplement": (frozenset({S.SUPPLEMENT_REQUESTED}), S.PROCESSING),
    "request_obligation": (frozenset({S.PROCESSING}), S.OBLIGATION_REQUESTED),
    "settle_obligation": (frozenset({S.OBLIGATION_REQUESTED}), S.PROCESSING),
    "withdraw": (frozenset({S.ACCEPTED, S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.OBLIGATION_REQUESTED}), S.WITHDRAWN),
    "stop": (frozenset({S.PROCESSING, S.SUPPLEMENT_REQUESTED, S.OBLIGATION_REQUESTED}), S.STOPPED),
    "ready_result": (frozenset({S.PROCESSING}), S.RESULT_READY),
    "return_result": (frozenset({S.RESULT_READY}), S.RESULT_RETURNED),
}

# The facts other services publish, and the action each asks of the status machine.
FACT_ACTIONS = {
    "dossier.supplement-received": "resume_after_supplement",
    "dossier.obligation-paid": "settle_obligation",
    "dossier.withdrawal-requested": "withdraw",
    "dossier.result-handed-over": "return_result",
    "shipment.delivered": "return_result",
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
    return target


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
