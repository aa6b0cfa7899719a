"""Why a dossier falls due when it does: the time counted day by day, for `lienthong calendar explain` and for
whoever must justify a date to an applicant or an auditor. It walks the same working intervals the engine adds
up, from receipt to the due instant the engine computed, so the explanation cannot disagree with the date."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from shared.calendar.holidays import KIND_LABELS
from shared.calendar.zone import Session, aware, hours, instant, local

if TYPE_CHECKING:
    from shared.calendar.engine import WorkingCalendar

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DayCount:
    """One local date: the working time counted on it (`spans`, local wall times) and the running `total`, or
    why none was counted (`skipped`). The last entry of an explanation carries the due instant (UTC)."""

    day: date
    spans: tuple[Session, ...] = ()
    counted: timedelta = timedelta()
    total: timedelta = timedelta()
    skipped: str | None = None
    note: str | None = None
    due_at: datetime | None = None

    @property
    def hours(self) -> float:
        return hours(self.counted)

    @property
    def total_hours(self) -> float:
        return hours(self.total)


def explain_due(
    calendar: WorkingCalendar,
    received_at: datetime,
    working_hours: float | None,
    calendar_days: int | None,
    paused_hours: float,
) -> list[DayCount]:
    due_at = calendar.due(received_at, working_hours, calendar_days, paused_hours)  # validates every input
    received = aware(received_at, "received_at")
    entries: list[DayCount] = []
    start = received
    if calendar_days is not None:
        entries = _calendar_days(calendar, received, calendar_days)
        due_day = entries[-1].day
        start = instant(due_day, calendar.sessions_on(due_day)[-1][1])
    listed = entries[-1].day if entries else None
    for entry in _working_days(calendar, start, due_at):
        if listed is None or entry.day > listed:
            entries.append(entry if listed is None else replace(entry, note=_join("paused time", entry.note)))
    entries[0] = replace(entries[0], note=_join(f"received {local(received):%H:%M}", entries[0].note))
    entries[-1] = replace(entries[-1], due_at=due_at)
    return entries


def closed_reason(calendar: WorkingCalendar, day: date) -> str | None:
    """Why a date has no working session (a day off's kind and name, or the weekend); None on a working day."""
    off = calendar.day_off(day)
    if off is not None:
        return f"{KIND_LABELS[off.kind]}: {off.name}"
    if not calendar.sessions_on(day):
        return "weekend" if day.weekday() >= 5 else "no working session"
    return None


def _calendar_days(calendar: WorkingCalendar, received: datetime, calendar_days: int) -> list[DayCount]:
    received_day = local(received).date()
    limit_day = received_day + timedelta(days=calendar_days)
    due_day = calendar.calendar_due_day(received, calendar_days)
    entries = [DayCount(received_day, note="calendar days count from the next day")]
    day = received_day + ONE_DAY
    while day <= due_day:
        number = (day - received_day).days
        note = f"calendar day {number} of {calendar_days}" if day <= limit_day else None
        skipped = closed_reason(calendar, day) if day >= limit_day else None
        if skipped:
            skipped += "; a limit in calendar days moves to the next working day"
        if day == due_day:
            note = _join(note, f"due at the end of the last session, {calendar.sessions_on(day)[-1][1]:%H:%M}")
        entries.append(DayCount(day, skipped=skipped, note=note))
        day += ONE_DAY
    return entries


def _working_days(calendar: WorkingCalendar, start: datetime, end: datetime) -> list[DayCount]:
    spans: dict[date, list[tuple[datetime, datetime]]] = {}
    for low, high in calendar.working_intervals(start, end):
        spans.setdefault(local(low).date(), []).append((low, high))
    entries: list[DayCount] = []
    total = timedelta()
    day, last = local(start).date(), local(end).date()
    while day <= last:
        used = spans.get(day, [])
        counted = sum((high - low for low, high in used), timedelta())
        total += counted
        skipped = None if used else closed_reason(calendar, day) or "after working hours"
        made_up = calendar.make_up_day(day)
        note = None
        if made_up is not None:
            instead = f", instead of {made_up.replaces}" if made_up.replaces else ""
            note = f"make-up working day: {made_up.name}{instead}"
        local_spans = tuple((local(low).time(), local(high).time()) for low, high in used)
        entries.append(DayCount(day, local_spans, counted, total, skipped, note))
        day += ONE_DAY
    return entries


def _join(*parts: str | None) -> str | None:
    return "; ".join(part for part in parts if part) or None
