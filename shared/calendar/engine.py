"""The working-time engine: due dates, step deadlines, pauses and the early / on-time / late classification of
domain.md, over working sessions and the yearly holiday data. Pure: no I/O, no clock ("now" is a parameter).

Conventions (see domain.md, "Time rules"):
- working time counts only inside sessions; a receipt outside them counts from the next session start;
- the due instant is the instant the counted time runs out: when it runs out exactly at a session end, it is
  that session end (8 hours from Monday 07:30 fall due Monday 17:00), never the next session start;
- a date in a year without holiday data raises `MissingCalendarYearError`: the engine never guesses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Literal

from shared.calendar.explain import DayCount, explain_due
from shared.calendar.holidays import DayOff, HolidayYear, MakeUpDay
from shared.calendar.zone import Session, aware, duration, hours, instant, local

HOURS_PER_DAY = 8  # one working day, as the national systems store it
_HCMC_DAY: tuple[Session, ...] = ((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0)))
HCMC_SESSIONS: Mapping[int, tuple[Session, ...]] = {weekday: _HCMC_DAY for weekday in range(5)}

FinishedOutcome = Literal["early", "on_time", "late"]
OpenOutcome = Literal["not_yet_due", "near_late", "late"]


class MissingCalendarYearError(LookupError):
    """A date in a year for which no holiday data is loaded."""

    def __init__(self, year: int, covered: Sequence[int]) -> None:
        self.year = year
        known = ", ".join(map(str, covered)) or "none"
        super().__init__(
            f"no holiday data for {year} (the working calendar covers: {known}); publish the {year} holiday "
            f"schedule (deploy/rules/holidays/{year}.yaml; the statutory dates marked provisional if it is not "
            "announced yet) before computing dates in that year"
        )


def _checked_sessions(sessions: Mapping[int, Sequence[Session]]) -> dict[int, tuple[Session, ...]]:
    if set(sessions) - set(range(7)):
        raise ValueError("sessions are keyed by weekday, 0 (Monday) to 6 (Sunday)")
    checked = {weekday: tuple(sessions.get(weekday, ())) for weekday in range(7)}
    for weekday, day in checked.items():
        ends = [moment for session in day for moment in session]
        if ends != sorted(ends) or any(begin >= end for begin, end in day):
            raise ValueError(f"sessions of weekday {weekday} must be ordered, non-empty and not overlapping")
    if not any(checked.values()):
        raise ValueError("at least one weekday needs a working session")
    return checked


class WorkingCalendar:
    def __init__(
        self, holiday_years: Iterable[HolidayYear], sessions: Mapping[int, Sequence[Session]] | None = None
    ) -> None:
        self._sessions = _checked_sessions(HCMC_SESSIONS if sessions is None else sessions)
        self._years: dict[int, HolidayYear] = {}
        for year in holiday_years:
            if year.year in self._years:
                raise ValueError(f"holiday data for {year.year} is given twice")
            self._years[year.year] = year
        self._days_off = {day.date: day for year in self._years.values() for day in year.days_off}
        self._make_up = {day.date: day for year in self._years.values() for day in year.working_days}

    @property
    def covered_years(self) -> tuple[int, ...]:
        return tuple(sorted(self._years))

    def holiday_year(self, year: int) -> HolidayYear:
        if year not in self._years:
            raise MissingCalendarYearError(year, self.covered_years)
        return self._years[year]

    def day_off(self, day: date) -> DayOff | None:
        self.holiday_year(day.year)
        return self._days_off.get(day)

    def make_up_day(self, day: date) -> MakeUpDay | None:
        self.holiday_year(day.year)
        return self._make_up.get(day)

    def sessions_on(self, day: date) -> tuple[Session, ...]:
        """The working sessions of a date (local wall times); none on a weekend or a day off. A make-up day
        works the sessions of the weekday it replaces, or Monday's when it replaces none."""
        if self.day_off(day) is not None:
            return ()
        made_up = self._make_up.get(day)
        if made_up is not None:
            return self._sessions[made_up.replaces.weekday() if made_up.replaces else 0]
        return self._sessions[day.weekday()]

    def is_working_day(self, day: date) -> bool:
        return bool(self.sessions_on(day))

    def previous_working_day(self, day: date) -> date:
        """The last working day before `day` (a holiday year must cover it)."""
        day -= timedelta(days=1)
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def working_intervals(self, start: datetime, end: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
        """The working time from `start` (to `end`, if given) as ordered (from, to) pairs of UTC instants. Without
        an end it goes on until a year without data, which raises."""
        start = aware(start, "start")
        day = local(start).date()
        last = None if end is None else local(end).date()
        while last is None or day <= last:
            for begin, finish in self.sessions_on(day):
                low = max(instant(day, begin), start)
                high = instant(day, finish) if end is None else min(instant(day, finish), aware(end))
                if low < high:
                    yield low, high
            day += timedelta(days=1)

    def add_working_time(self, start: datetime, working_hours: float) -> datetime:
        """The instant `working_hours` of working time after `start`: a step's deadline is its start plus its
        share of the limit (parallel branches each add their own share)."""
        return self._add(aware(start, "start"), duration(working_hours, "working time"))

    def _add(self, start: datetime, remaining: timedelta) -> datetime:
        if not remaining:
            return start
        for low, high in self.working_intervals(start):
            if remaining <= high - low:
                return low + remaining
            remaining -= high - low
        raise AssertionError("unreachable: working time without an end stops only by raising")

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time inside sessions between two instants (a pause: from its start to the resumption)."""
        if aware(end, "end") < aware(start, "start"):
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        return sum((high - low for low, high in self.working_intervals(start, end)), timedelta())

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        return hours(self.working_time_between(start, end))

    def calendar_due_day(self, received_at: datetime, calendar_days: int) -> date:
        """The local date `calendar_days` after receipt, moved to the next working day if it is not one."""
        if isinstance(calendar_days, bool) or not isinstance(calendar_days, int) or calendar_days <= 0:
            raise ValueError(f"a limit in calendar days must be a positive whole number, not {calendar_days!r}")
        day = local(aware(received_at, "received_at")).date() + timedelta(days=calendar_days)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def due(
        self,
        received_at: datetime,
        working_hours: float | None = None,
        calendar_days: int | None = None,
        paused_hours: float = 0,
    ) -> datetime:
        """The due instant (UTC) of a limit in working hours, or in calendar days (the end of the last session of
        the due day), extended by the paused working time (supplement, financial obligation)."""
        received = aware(received_at, "received_at")
        paused = duration(paused_hours, "paused time")
        if (working_hours is None) == (calendar_days is None):
            raise ValueError("give the time limit either in working hours or in calendar days")
        if working_hours is not None:
            limit = duration(working_hours, "the time limit")
            if not limit:
                raise ValueError("the time limit must be positive")
            return self._add(received, limit + paused)
        assert calendar_days is not None
        due_day = self.calendar_due_day(received, calendar_days)
        return self._add(instant(due_day, self.sessions_on(due_day)[-1][1]), paused)

    def classify_finished(self, due_at: datetime, finished_at: datetime) -> FinishedOutcome:
        """Early = ended on a date before the due date (local), whether or not that date was a working day;
        on time = on the due date at or before the due instant; late = after the due instant."""
        due, finished = aware(due_at, "due_at"), aware(finished_at, "finished_at")
        if finished > due:
            return "late"
        return "early" if local(finished).date() < local(due).date() else "on_time"

    def classify_open(self, due_at: datetime, now: datetime, near_window_hours: float = HOURS_PER_DAY) -> OpenOutcome:
        """Late after the due instant; near-late when at most `near_window_hours` of working time remain."""
        due, current = aware(due_at, "due_at"), aware(now, "now")
        if current > due:
            return "late"
        window, remaining = duration(near_window_hours, "the near-late window"), timedelta()
        for low, high in self.working_intervals(current, due):
            remaining += high - low
            if remaining > window:
                return "not_yet_due"
        return "near_late"

    def explain(
        self,
        received_at: datetime,
        working_hours: float | None = None,
        calendar_days: int | None = None,
        paused_hours: float = 0,
    ) -> list[DayCount]:
        """Day by day, the time counted towards the due instant (which the last entry carries)."""
        return explain_due(self, received_at, working_hours, calendar_days, paused_hours)
