"""Accountability figures per agency and period, by the national method (Decision 766/QĐ-TTg and domain.md). Pure:
it counts what it is given; queries.py reads the rows, the API and the Prometheus gauges serve the result.

What is counted against whom. A step's lateness counts against that step's agency even when the dossier ends on
time, so every figure of an agency is about *its steps*:
- received: steps handed to the agency in the period;
- in progress (now, whatever the period): its open steps, not yet due / near-late / late against the step deadline
  (a paused dossier is judged at the instant its clock stopped);
- finished early / on time / late: its steps completed in the period, and the on-time rate (early + on time) over
  them;
- supplements requested by the agency in the period, and second requests (dossiers asked more than once);
- apologies issued by the agency in the period;
- time per step: mean working hours per route step completed in the period, paused time left out;
- satisfaction (766): over the dossiers whose processing ended in the period with a step at the agency,
  (dossiers - dossiers with dissatisfaction, a complaint, or a late step of this agency) ÷ dossiers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from shared.calendar.engine import WorkingCalendar
from shared.calendar.zone import local


@dataclass(frozen=True)
class StepFacts:
    dossier_id: str
    step_id: str
    agency_code: str
    started_at: datetime
    deadline_at: datetime
    completed_at: datetime | None
    timeliness: str | None
    paused_at: datetime | None  # the dossier's clock stopped here, for an open step of a paused dossier


@dataclass(frozen=True)
class PauseFacts:
    dossier_id: str
    agency_code: str
    kind: str
    second_request: bool
    requested_at: datetime
    resumed_at: datetime | None


@dataclass(frozen=True)
class EndedDossier:
    dossier_id: str
    ended_at: datetime
    dissatisfied: bool  # a survey answer counted as dissatisfaction, or a complaint


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date

    def holds(self, instant: datetime | None) -> bool:
        return instant is not None and self.first_day <= local(instant).date() <= self.last_day


@dataclass
class AgencyFigures:
    agency: str
    received: int = 0
    in_progress: dict[str, int] = field(default_factory=lambda: {"not_yet_due": 0, "near_late": 0, "late": 0})
    finished: dict[str, int] = field(default_factory=lambda: {"early": 0, "on_time": 0, "late": 0})
    supplements_requested: int = 0
    second_supplement_requests: int = 0
    apologies: int = 0
    step_hours: dict[str, float] = field(default_factory=dict)
    satisfaction_dossiers: int = 0
    satisfaction_counted_against: int = 0

    @property
    def on_time_rate(self) -> float | None:
        total = sum(self.finished.values())
        return (self.finished["early"] + self.finished["on_time"]) / total if total else None

    @property
    def satisfaction_index(self) -> float | None:
        d = self.satisfaction_dossiers
        return (d - self.satisfaction_counted_against) / d if d else None


@dataclass(frozen=True)
class Inputs:
    steps: list[StepFacts]
    pauses: list[PauseFacts]
    apologies: list[tuple[str, datetime]]  # (agency, issued_at)
    ended: list[EndedDossier]


def figures(
    inputs: Inputs, period: Period, now: datetime, calendar: WorkingCalendar, near_window_hours: float
) -> dict[str, AgencyFigures]:
    board: dict[str, AgencyFigures] = {}

    def of(agency: str) -> AgencyFigures:
        return board.setdefault(agency, AgencyFigures(agency))

    hours: dict[tuple[str, str], list[float]] = defaultdict(list)
    for step in inputs.steps:
        agency = of(step.agency_code)
        agency.received += period.holds(step.started_at)
        if step.completed_at is None:
            agency.in_progress[calendar.classify_open(step.deadline_at, step.paused_at or now, near_window_hours)] += 1
        elif period.holds(step.completed_at) and step.timeliness:
            agency.finished[step.timeliness] += 1
            hours[step.agency_code, step.step_id].append(_working_hours(calendar, step, inputs.pauses))
    for (code, step_id), spent in sorted(hours.items()):
        of(code).step_hours[step_id] = round(sum(spent) / len(spent), 2)
    for pause in inputs.pauses:
        if pause.kind == "supplement" and period.holds(pause.requested_at):
            of(pause.agency_code).supplements_requested += 1
            of(pause.agency_code).second_supplement_requests += pause.second_request
    for code, issued_at in inputs.apologies:
        of(code).apologies += period.holds(issued_at)
    _satisfaction(inputs, period, of)
    return dict(sorted(board.items()))


def _working_hours(calendar: WorkingCalendar, step: StepFacts, pauses: Iterable[PauseFacts]) -> float:
    assert step.completed_at is not None
    spent = calendar.working_hours_between(step.started_at, step.completed_at)
    for pause in pauses:
        if pause.dossier_id == step.dossier_id and pause.resumed_at is not None:
            start, end = max(pause.requested_at, step.started_at), min(pause.resumed_at, step.completed_at)
            spent -= calendar.working_hours_between(start, end) if end > start else 0.0
    return spent


def _satisfaction(inputs: Inputs, period: Period, of: Callable[[str], AgencyFigures]) -> None:
    steps_of: dict[str, list[StepFacts]] = defaultdict(list)
    for step in inputs.steps:
        steps_of[step.dossier_id].append(step)
    for dossier in inputs.ended:
        if not period.holds(dossier.ended_at):
            continue
        for code in sorted({s.agency_code for s in steps_of[dossier.dossier_id]}):
            late = any(s.timeliness == "late" for s in steps_of[dossier.dossier_id] if s.agency_code == code)
            agency = of(code)
            agency.satisfaction_dossiers += 1
            agency.satisfaction_counted_against += dossier.dissatisfied or late
