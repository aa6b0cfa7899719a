"""The working-time rules of domain.md ("Time rules"), on real dates of the shipped holiday data. Every expected
instant was counted by hand; the comments show the count."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from shared.calendar import (
    ZONE,
    HolidayYear,
    MissingCalendarYearError,
    WorkingCalendar,
    load_holiday_years,
)

CALENDAR = WorkingCalendar(load_holiday_years())


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


def test_a_working_day_ends_at_the_session_end_and_a_due_instant_is_utc() -> None:
    due = CALENDAR.due(vn(2025, 3, 10, 7, 30), working_hours=8)  # Monday 07:30 + 8 h
    assert due == vn(2025, 3, 10, 17, 0)  # that session end, not Tuesday 07:30
    assert due.tzinfo is UTC
    assert CALENDAR.due(vn(2025, 3, 10, 10, 0), working_hours=8) == vn(2025, 3, 11, 10, 0)


def test_weekends_are_skipped() -> None:
    # Friday 15:00-17:00 = 2 h, Saturday and Sunday skipped, Monday 07:30-11:30 = 4 h, 13:00-15:00 = 2 h.
    assert CALENDAR.due(vn(2025, 3, 7, 15, 0), working_hours=8) == vn(2025, 3, 10, 15, 0)
    assert not CALENDAR.is_working_day(date(2025, 3, 8))
    assert CALENDAR.is_working_day(date(2025, 3, 10))


def test_tet_2026_is_skipped() -> None:
    # 3 working days received Friday 13 February 2026 10:00: Friday 5.5 h; 14-22 February off (Tết 16-20);
    # Monday 23: 8 h (13.5), Tuesday 24: 8 h (21.5), Wednesday 25: 07:30-10:00 = 2.5 h (24).
    assert CALENDAR.due(vn(2026, 2, 13, 10, 0), working_hours=24) == vn(2026, 2, 25, 10, 0)
    assert not any(CALENDAR.is_working_day(date(2026, 2, day)) for day in range(14, 23))


def test_a_holiday_on_a_weekend_gives_its_compensatory_day() -> None:
    # Hùng Kings 2026 is Sunday 26 April, so Monday 27 is off. Friday 24 13:00-17:00 = 4 h, Tuesday 28 07:30-11:30.
    assert not CALENDAR.is_working_day(date(2026, 4, 27))
    assert CALENDAR.due(vn(2026, 4, 24, 13, 0), working_hours=8) == vn(2026, 4, 28, 11, 30)
    # 1 May 2027 is a Saturday: Monday 3 May is off. Thursday 29 April 09:00: 6.5 h; Friday 30 April a holiday;
    # Tuesday 4 May 8 h (14.5); Wednesday 5 May 07:30-09:00 (16).
    assert CALENDAR.due(vn(2027, 4, 29, 9, 0), working_hours=16) == vn(2027, 5, 5, 9, 0)


@pytest.mark.parametrize(
    ("received", "hours", "due"),
    [
        (vn(2025, 3, 10, 17, 30), 4, vn(2025, 3, 11, 11, 30)),  # after the afternoon session: next morning
        (vn(2025, 3, 10, 17, 0), 1, vn(2025, 3, 11, 8, 30)),  # exactly at its end: the same
        (vn(2025, 3, 14, 18, 0), 1, vn(2025, 3, 17, 8, 30)),  # Friday evening: Monday morning
        (vn(2025, 3, 10, 12, 0), 2, vn(2025, 3, 10, 15, 0)),  # at lunch: from 13:00
        (vn(2025, 3, 10, 6, 0), 1, vn(2025, 3, 10, 8, 30)),  # before opening: from 07:30
        (vn(2025, 3, 8, 9, 0), 4, vn(2025, 3, 10, 11, 30)),  # on a Saturday: Monday
    ],
)
def test_receipt_outside_sessions_counts_from_the_next_session(received: datetime, hours: float, due: datetime) -> None:
    assert CALENDAR.due(received, working_hours=hours) == due


def test_any_zone_in_and_naive_refused() -> None:
    in_utc = datetime(2026, 2, 13, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
    assert CALENDAR.due(in_utc, working_hours=24) == vn(2026, 2, 25, 10, 0)
    with pytest.raises(ValueError, match="time zone"):
        CALENDAR.due(datetime(2026, 2, 13, 10, 0), working_hours=8)
    with pytest.raises(ValueError, match="time zone"):
        CALENDAR.classify_finished(vn(2026, 2, 25, 10), datetime(2026, 2, 24, 10))


def test_pauses_are_measured_in_working_time_across_holidays() -> None:
    # Supplement requested Thursday 12 February 2026 14:00, received Tuesday 24 February 10:00:
    # Thursday 3 h, Friday 8 h, Tết and weekends 0, Monday 23 8 h, Tuesday 07:30-10:00 2.5 h.
    assert CALENDAR.working_hours_between(vn(2026, 2, 12, 14, 0), vn(2026, 2, 24, 10, 0)) == 21.5
    # 5 days received Monday 9 February 07:30 fall due Friday 13 17:00; 21.5 paused hours then run from
    # Monday 23 (8), Tuesday 24 (16), Wednesday 25 07:30-11:30 and 13:00-14:30 (21.5).
    assert CALENDAR.due(vn(2026, 2, 9, 7, 30), working_hours=40) == vn(2026, 2, 13, 17, 0)
    assert CALENDAR.due(vn(2026, 2, 9, 7, 30), working_hours=40, paused_hours=21.5) == vn(2026, 2, 25, 14, 30)


def test_working_hours_between_ignores_time_outside_sessions() -> None:
    assert CALENDAR.working_hours_between(vn(2025, 3, 10, 11, 0), vn(2025, 3, 10, 14, 0)) == 1.5
    assert CALENDAR.working_hours_between(vn(2025, 3, 7, 18, 0), vn(2025, 3, 10, 7, 30)) == 0
    with pytest.raises(ValueError, match="before"):
        CALENDAR.working_hours_between(vn(2025, 3, 10, 9), vn(2025, 3, 10, 8))


def test_step_deadlines_add_each_share_to_the_step_start() -> None:
    handover = vn(2026, 4, 29, 16, 0)  # Wednesday; 30 April and 1 May are holidays
    assert CALENDAR.add_working_time(handover, 4) == vn(2026, 5, 4, 10, 30)  # 1 h, then Monday 07:30 + 3 h
    assert CALENDAR.add_working_time(handover, 1) == vn(2026, 4, 29, 17, 0)  # a parallel branch's own share
    assert CALENDAR.add_working_time(handover, 0) == handover
    with pytest.raises(ValueError, match="non-negative"):
        CALENDAR.add_working_time(handover, -1)


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        (vn(2025, 3, 10, 9), 3, vn(2025, 3, 13, 17, 0)),  # Thursday, a working day
        (vn(2025, 3, 10, 9), 5, vn(2025, 3, 17, 17, 0)),  # Saturday 15: moves to Monday 17
        (vn(2026, 4, 20, 10), 7, vn(2026, 4, 28, 17, 0)),  # Monday 27, compensatory day: Tuesday 28
        (vn(2026, 2, 6, 10), 10, vn(2026, 2, 23, 17, 0)),  # Monday 16, Tết: after the break
        (vn(2026, 8, 15, 10), 7, vn(2026, 8, 22, 17, 0)),  # Saturday 22 August, a make-up working day
    ],
)
def test_calendar_day_limits_end_on_a_working_day(received: datetime, days: int, due: datetime) -> None:
    assert CALENDAR.due(received, calendar_days=days) == due


def test_calendar_day_limit_plus_pause() -> None:
    # Thursday 13 March 2025 17:00, then 2 paused working hours: Friday 07:30-09:30.
    assert CALENDAR.due(vn(2025, 3, 10, 9), calendar_days=3, paused_hours=2) == vn(2025, 3, 14, 9, 30)


def test_a_december_2026_receipt_falls_due_in_2027() -> None:
    # 30 calendar days from Tuesday 15 December 2026: Thursday 14 January 2027.
    assert CALENDAR.due(vn(2026, 12, 15, 9), calendar_days=30) == vn(2027, 1, 14, 17, 0)
    # From 6 January 2027: Friday 5 February is Tết (provisional 4-8 February, compensatory 9-10): Thursday 11.
    assert CALENDAR.due(vn(2027, 1, 6, 9), calendar_days=30) == vn(2027, 2, 11, 17, 0)
    # 3 working days from Wednesday 30 December 2026 09:00: 6.5 h, Thursday 31 8 h (14.5), 1 January 2027 off,
    # Monday 4 January 8 h (22.5), Tuesday 5 January 07:30-09:00 (24).
    assert CALENDAR.due(vn(2026, 12, 30, 9), working_hours=24) == vn(2027, 1, 5, 9, 0)


def test_make_up_saturdays_are_working_days() -> None:
    assert CALENDAR.is_working_day(date(2026, 1, 10))  # worked for Friday 2 January
    assert CALENDAR.is_working_day(date(2025, 4, 26))  # worked for Friday 2 May
    assert not CALENDAR.is_working_day(date(2026, 1, 2))
    assert not CALENDAR.is_working_day(date(2026, 1, 17))
    # Friday 9 January 2026 13:00-17:00 = 4 h, Saturday 10 07:30-11:30 = 4 h.
    assert CALENDAR.due(vn(2026, 1, 9, 13), working_hours=8) == vn(2026, 1, 10, 11, 30)


def test_a_make_up_day_works_the_sessions_of_the_day_it_replaces_or_mondays() -> None:
    year = HolidayYear.model_validate(
        {
            "year": 2030,
            "status": "announced",
            "source": "test",
            "announced_on": "2029-12-01",
            "days_off": [{"date": "2030-01-08", "kind": "bridge", "name": {"vi": "x", "en": "x"}}],
            "working_days": [
                {"date": "2030-01-12", "replaces": "2030-01-08", "name": {"vi": "x", "en": "x"}},
                {"date": "2030-01-19", "name": {"vi": "y", "en": "y"}},
            ],
        }
    )
    monday, tuesday = (time(8), time(12)), (time(9), time(10))
    calendar = WorkingCalendar([year], sessions={0: [monday], 1: [tuesday]})
    assert calendar.sessions_on(date(2030, 1, 12)) == (tuesday,)  # replaces Tuesday 8 January
    assert calendar.sessions_on(date(2030, 1, 19)) == (monday,)  # replaces nothing: Monday's sessions
    assert calendar.sessions_on(date(2030, 1, 8)) == ()
    assert calendar.sessions_on(date(2030, 1, 9)) == ()  # a Wednesday without sessions


def test_sessions_are_checked() -> None:
    with pytest.raises(ValueError, match="overlapping"):
        WorkingCalendar([], sessions={0: [(time(13), time(17)), (time(7, 30), time(11, 30))]})
    with pytest.raises(ValueError, match="at least one"):
        WorkingCalendar([], sessions={})


def test_classify_finished() -> None:
    due = vn(2026, 2, 25, 10, 0)
    assert CALENDAR.classify_finished(due, vn(2026, 2, 24, 16, 0)) == "early"
    assert CALENDAR.classify_finished(due, vn(2026, 2, 22, 9, 0)) == "early"  # a Sunday before the due day
    assert CALENDAR.classify_finished(due, vn(2026, 2, 25, 7, 0)) == "on_time"
    assert CALENDAR.classify_finished(due, due) == "on_time"
    assert CALENDAR.classify_finished(due, vn(2026, 2, 25, 10, 1)) == "late"
    # The due day is a local date: 23:30 UTC on the 24th is already the 25th in Vietnam.
    assert CALENDAR.classify_finished(due, datetime(2026, 2, 24, 23, 30, tzinfo=UTC)) == "on_time"


def test_classify_open() -> None:
    due = vn(2026, 2, 25, 10, 0)
    assert CALENDAR.classify_open(due, vn(2026, 2, 23, 9, 0)) == "not_yet_due"  # 6.5 + 8 + 2.5 h left
    assert CALENDAR.classify_open(due, vn(2026, 2, 24, 9, 59)) == "not_yet_due"  # 8 h 01 left
    assert CALENDAR.classify_open(due, vn(2026, 2, 24, 10, 0)) == "near_late"  # 5.5 + 2.5 = 8 h left
    assert CALENDAR.classify_open(due, due) == "near_late"
    assert CALENDAR.classify_open(due, vn(2026, 2, 25, 10, 1)) == "late"
    assert CALENDAR.classify_open(due, vn(2026, 2, 23, 12, 0), near_window_hours=16) == "near_late"  # 14.5 h
    # Ten calendar days away but only 2.5 working hours: Friday 16:00-17:00, then Monday 23 07:30-09:00.
    assert CALENDAR.classify_open(vn(2026, 2, 23, 9, 0), vn(2026, 2, 13, 16, 0)) == "near_late"


def test_explain_lists_each_day_and_ends_with_the_due_instant() -> None:
    entries = CALENDAR.explain(vn(2026, 2, 13, 10, 0), working_hours=24)
    assert [entry.day for entry in entries] == [date(2026, 2, 13) + timedelta(days=n) for n in range(13)]
    first, tet, last = entries[0], entries[3], entries[-1]
    assert first.spans == ((time(10), time(11, 30)), (time(13), time(17)))
    assert first.hours == 5.5
    assert entries[1].skipped == "weekend"
    assert tet.skipped is not None
    assert "Tết Nguyên Đán" in tet.skipped
    assert tet.hours == 0
    assert last.spans == ((time(7, 30), time(10)),)
    assert last.total_hours == 24
    assert last.due_at == CALENDAR.due(vn(2026, 2, 13, 10, 0), working_hours=24)


def test_explain_calendar_days_names_the_compensatory_day() -> None:
    entries = CALENDAR.explain(vn(2026, 4, 20, 10), calendar_days=7)
    assert entries[-2].day == date(2026, 4, 27)
    assert entries[-2].skipped is not None
    assert entries[-2].skipped.startswith("compensatory day off")
    assert entries[-1].due_at == vn(2026, 4, 28, 17, 0)
    paused = CALENDAR.explain(vn(2025, 3, 10, 9), calendar_days=3, paused_hours=2)
    assert paused[-1].day == date(2025, 3, 14)
    assert paused[-1].total_hours == 2
    assert paused[-1].due_at == vn(2025, 3, 14, 9, 30)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"working_hours": 8, "calendar_days": 3}, "either in working hours or in calendar days"),
        ({}, "either in working hours or in calendar days"),
        ({"working_hours": 0}, "must be positive"),
        ({"working_hours": -8}, "non-negative"),
        ({"calendar_days": 0}, "positive whole number"),
        ({"working_hours": 8, "paused_hours": -1}, "paused time"),
        ({"working_hours": float("nan")}, "non-negative"),
    ],
)
def test_bad_limits_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CALENDAR.due(vn(2026, 3, 2, 9), **kwargs)


def test_a_year_without_data_raises_naming_it() -> None:
    assert CALENDAR.covered_years == (2025, 2026, 2027)
    with pytest.raises(MissingCalendarYearError, match="no holiday data for 2028") as raised:
        CALENDAR.due(vn(2027, 12, 28, 9), working_hours=80)
    assert raised.value.year == 2028
    assert "publish" in str(raised.value)
    assert isinstance(raised.value, LookupError)
    with pytest.raises(MissingCalendarYearError, match="2024"):
        CALENDAR.is_working_day(date(2024, 12, 31))
    # Counting up to the very last session of a covered year needs no later year.
    assert CALENDAR.working_hours_between(vn(2027, 12, 31, 9), vn(2027, 12, 31, 17)) == 6.5
