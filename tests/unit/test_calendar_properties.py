"""Properties of the working-time engine that must hold for any instant and duration in the years with data."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.calendar import ZONE, WorkingCalendar, load_holiday_years

CALENDAR = WorkingCalendar(load_holiday_years())
FAST = settings(max_examples=200, deadline=None)

# Up to mid-2027, so that even the longest duration drawn here ends inside the data (2025-2027).
instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(ZONE))
working_minutes = st.integers(min_value=1, max_value=10 * 8 * 60)  # up to 10 working days, in whole minutes
calendar_days = st.integers(min_value=1, max_value=60)


def inside_a_session_or_at_its_end(moment: datetime) -> bool:
    at = moment.astimezone(ZONE)
    return any(begin < at.time() <= end for begin, end in CALENDAR.sessions_on(at.date()))


@FAST
@given(instants, working_minutes, st.integers(min_value=0, max_value=3 * 8 * 60))
def test_a_due_instant_is_inside_a_session_or_at_its_end(received: datetime, minutes: int, paused: int) -> None:
    assert inside_a_session_or_at_its_end(CALENDAR.due(received, working_hours=minutes / 60))
    assert inside_a_session_or_at_its_end(CALENDAR.due(received, working_hours=minutes / 60, paused_hours=paused / 60))


@FAST
@given(instants, calendar_days)
def test_a_calendar_day_limit_falls_due_at_a_session_end_of_a_working_day(received: datetime, days: int) -> None:
    due = CALENDAR.due(received, calendar_days=days).astimezone(ZONE)
    sessions = CALENDAR.sessions_on(due.date())
    assert sessions
    assert due.time() == sessions[-1][1]
    assert due.date() >= received.astimezone(ZONE).date() + timedelta(days=days)


@FAST
@given(instants, working_minutes, st.integers(min_value=1, max_value=3 * 8 * 60), st.booleans())
def test_a_pause_never_moves_the_due_instant_earlier(
    received: datetime, minutes: int, paused: int, by_days: bool
) -> None:
    if by_days:
        days = minutes % 45 + 1
        before = CALENDAR.due(received, calendar_days=days)
        after = CALENDAR.due(received, calendar_days=days, paused_hours=paused / 60)
    else:
        before = CALENDAR.due(received, working_hours=minutes / 60)
        after = CALENDAR.due(received, working_hours=minutes / 60, paused_hours=paused / 60)
    assert after > before


@FAST
@given(instants, working_minutes, working_minutes)
def test_a_duration_split_in_two_falls_due_at_the_same_instant(received: datetime, first: int, second: int) -> None:
    halfway = CALENDAR.due(received, working_hours=first / 60)
    assert CALENDAR.due(halfway, working_hours=second / 60) == CALENDAR.due(
        received, working_hours=(first + second) / 60
    )


@FAST
@given(
    st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 6, 30)),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=59),
    working_minutes,
)
def test_the_working_time_between_a_start_and_its_deadline_is_the_time_added(
    day: date, pick: int, second: int, minutes: int
) -> None:
    sessions = CALENDAR.sessions_on(day)
    assume(sessions)
    begin, end = sessions[pick % len(sessions)]
    length = (datetime.combine(day, end) - datetime.combine(day, begin)) // timedelta(minutes=1)
    start = datetime.combine(day, begin, tzinfo=ZONE) + timedelta(minutes=pick % length, seconds=second)
    deadline = CALENDAR.add_working_time(start, minutes / 60)
    assert CALENDAR.working_hours_between(start, deadline) == minutes / 60


@FAST
@given(instants, working_minutes, st.integers(min_value=0, max_value=8 * 60))
def test_an_explanation_counts_the_whole_limit_and_ends_at_the_due_instant(
    received: datetime, minutes: int, paused: int
) -> None:
    entries = CALENDAR.explain(received, working_hours=minutes / 60, paused_hours=paused / 60)
    assert entries[-1].total == timedelta(minutes=minutes + paused)
    assert entries[-1].due_at == CALENDAR.due(received, working_hours=minutes / 60, paused_hours=paused / 60)
    assert [entry.day for entry in entries] == [entries[0].day + timedelta(days=n) for n in range(len(entries))]
