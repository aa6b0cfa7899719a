"""`lienthong calendar due|explain`: when a dossier received at a given instant falls due, and why.

    lienthong calendar due --received 2026-02-13T10:00 --days 3
    lienthong calendar explain --received 2026-12-15T09:00 --calendar-days 30 --paused 4

The received time is Vietnam local time unless it carries an offset. Every input is checked here, not by
argparse, so that a bad one gets a single clear line on stderr (argparse would add its usage text).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from shared.calendar.engine import HOURS_PER_DAY, MissingCalendarYearError, WorkingCalendar
from shared.calendar.explain import DayCount
from shared.calendar.holidays import HOLIDAYS_FOLDER, HolidayDataError, load_holiday_years
from shared.calendar.zone import ZONE, local

USAGE_ERROR, DATA_ERROR = 2, 1


class CalendarInputError(ValueError):
    pass


@dataclass(frozen=True)
class Limit:
    received: datetime
    working_hours: float | None
    calendar_days: int | None
    paused_hours: float
    described: str


def add_calendar_parser(subcommands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subcommands.add_parser("calendar", help="due dates in working time, from the holiday data")
    actions = parser.add_subparsers(dest="calendar_command", required=True)
    for name, purpose in (
        ("due", "print the due instant, in Vietnam local time"),
        ("explain", "print the working time counted day by day, up to the due instant"),
    ):
        action = actions.add_parser(name, help=purpose, description=purpose)
        action.add_argument("--received", help="receipt instant, e.g. 2026-02-13T10:00 (local time unless offset)")
        action.add_argument("--days", help="time limit in working days (1 day = 8 working hours)")
        action.add_argument("--hours", help="time limit in working hours")
        action.add_argument("--calendar-days", help="time limit in calendar days")
        action.add_argument("--paused", default="0", help="paused working hours to add (supplement, obligation)")
        action.add_argument("--holidays", type=Path, default=HOLIDAYS_FOLDER, help="folder of <year>.yaml holiday data")


def run_calendar(args: argparse.Namespace) -> int:
    try:
        limit = read_limit(args)
        folder: Path = args.holidays
        if not folder.is_dir():
            raise HolidayDataError(f"no holiday data folder at {folder}")
        calendar = WorkingCalendar(load_holiday_years(folder))
        due_at = calendar.due(limit.received, limit.working_hours, limit.calendar_days, limit.paused_hours)
        if args.calendar_command == "due":
            print(format_instant(due_at))
        else:
            entries = calendar.explain(limit.received, limit.working_hours, limit.calendar_days, limit.paused_hours)
            print("\n".join(format_explanation(limit, entries)))
    except CalendarInputError as error:
        return _fail(str(error), USAGE_ERROR)
    except (MissingCalendarYearError, HolidayDataError, ValueError) as error:
        return _fail(str(error), DATA_ERROR)
    return 0


def _fail(message: str, status: int) -> int:
    print(f"lienthong calendar: {' '.join(message.split())}", file=sys.stderr)
    return status


def read_limit(args: argparse.Namespace) -> Limit:
    given = [option for option in ("days", "hours", "calendar_days") if getattr(args, option) is not None]
    if not given:
        raise CalendarInputError("give a time limit: --days, --hours or --calendar-days")
    if len(given) > 1:
        named = " and ".join(f"--{option.replace('_', '-')}" for option in given)
        raise CalendarInputError(f"{named} cannot be combined: give one time limit")
    paused = _number(args.paused, "--paused", allow_zero=True)
    received = _received(args.received)
    if args.calendar_days is not None:
        days = _number(args.calendar_days, "--calendar-days")
        if days != int(days):
            raise CalendarInputError(f"--calendar-days must be a whole number of days, not {args.calendar_days}")
        return Limit(received, None, int(days), paused, f"{int(days)} calendar days")
    if args.days is not None:
        days = _number(args.days, "--days")
        hours = days * HOURS_PER_DAY
        return Limit(received, hours, None, paused, f"{args.days} working days = {_span(_hours(hours))} working hours")
    hours = _number(args.hours, "--hours")
    return Limit(received, hours, None, paused, f"{_span(_hours(hours))} working hours")


def _received(text: str | None) -> datetime:
    if not text:
        raise CalendarInputError("--received is required, e.g. --received 2026-02-13T10:00")
    try:
        received = datetime.fromisoformat(text)
    except ValueError:
        raise CalendarInputError(
            f"--received {text!r} is not a date and time such as 2026-02-13T10:00 or 2026-02-13T10:00+07:00"
        ) from None
    return received.replace(tzinfo=ZONE) if received.tzinfo is None else received


def _number(text: str, option: str, allow_zero: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CalendarInputError(f"{option} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise CalendarInputError(f"{option} must be {'zero or more' if allow_zero else 'more than zero'}, not {text}")
    return value


def _hours(amount: float) -> timedelta:
    return timedelta(seconds=round(amount * 3600))


def format_instant(moment: datetime) -> str:
    """Local time, `YYYY-MM-DD HH:MM` (with seconds only when there are some)."""
    shown = local(moment)
    return f"{shown:%Y-%m-%d} {_clock(shown.time())}"


def _clock(at: time) -> str:
    return f"{at:%H:%M:%S}" if at.second or at.microsecond else f"{at:%H:%M}"


def _span(amount: timedelta) -> str:
    """A duration as H:MM (hours may pass 24), with seconds only when there are some."""
    seconds = round(amount.total_seconds())
    text = f"{seconds // 3600}:{seconds % 3600 // 60:02d}"
    return f"{text}:{seconds % 60:02d}" if seconds % 60 else text


def format_explanation(limit: Limit, entries: list[DayCount]) -> list[str]:
    paused = f", plus {_span(_hours(limit.paused_hours))} paused working hours" if limit.paused_hours else ""
    lines = [f"received {format_instant(limit.received)} (Asia/Ho_Chi_Minh); limit {limit.described}{paused}"]
    for entry in entries:
        parts = [f"{entry.day:%Y-%m-%d %a}"]
        if entry.spans:
            sessions = ", ".join(f"{_clock(low)}-{_clock(high)}" for low, high in entry.spans)
            parts.append(f"{sessions:<26} counted {_span(entry.counted):>6}  total {_span(entry.total):>7}")
        elif entry.skipped:
            parts.append(f"skipped: {entry.skipped}")
        if entry.note:
            parts.append(f"({entry.note})")
        lines.append("  ".join(parts))
    if entries and entries[-1].due_at is not None:
        lines.append(f"due {format_instant(entries[-1].due_at)}")
    return lines
