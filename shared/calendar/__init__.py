"""Working time: sessions, the yearly holiday data and the due-date rules of domain.md ("Time rules")."""

from shared.calendar.engine import HCMC_SESSIONS, HOURS_PER_DAY, MissingCalendarYearError, WorkingCalendar
from shared.calendar.explain import DayCount
from shared.calendar.holidays import DayOff, HolidayYear, MakeUpDay, load_holiday_years
from shared.calendar.zone import ZONE

__all__ = [
    "HCMC_SESSIONS",
    "HOURS_PER_DAY",
    "ZONE",
    "DayCount",
    "DayOff",
    "HolidayYear",
    "MakeUpDay",
    "MissingCalendarYearError",
    "WorkingCalendar",
    "load_holiday_years",
]
