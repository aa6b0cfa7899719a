"""Local time for the rules (Asia/Ho_Chi_Minh), instants and durations, exactly.

Instants go in with any zone and come out in UTC; a naive datetime is refused, since nobody can tell which
zone it meant. Durations are resolved to whole seconds once, on the way in, and then added as `timedelta`s
(integer microseconds): no float error accumulates however many days a deadline spans.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Session = tuple[time, time]
HOUR = timedelta(hours=1)


# The tzdata package (a dependency) provides the zone where the system has no tz database (slim images).
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def aware(moment: datetime, what: str = "instant") -> datetime:
    """The instant in UTC; refuses a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{what} {moment.isoformat()} has no time zone: give a timezone-aware datetime "
            "(for Vietnam local time, with +07:00)"
        )
    return moment.astimezone(UTC)


def local(moment: datetime) -> datetime:
    return aware(moment).astimezone(ZONE)


def local_text(moment: datetime | None) -> str | None:
    """An instant as people in the zone read it: `2026-12-02 09:30`."""
    return local(moment).strftime("%Y-%m-%d %H:%M") if moment else None


def instant(day: date, at: time) -> datetime:
    """Local wall time `at` on `day`, as a UTC instant."""
    return datetime.combine(day, at, tzinfo=ZONE).astimezone(UTC)


def duration(amount: float, what: str) -> timedelta:
    """Hours (possibly fractional) as a whole number of seconds; refuses negative, infinite or NaN."""
    if isinstance(amount, bool) or not math.isfinite(amount) or amount < 0:
        raise ValueError(f"{what} must be a non-negative number of hours, not {amount!r}")
    return timedelta(seconds=round(amount * 3600))


def hours(span: timedelta) -> float:
    return span / HOUR
