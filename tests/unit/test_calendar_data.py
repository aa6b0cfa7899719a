"""The shipped holiday data (deploy/rules/holidays/) loads, validates and says where it comes from; the
validation refuses what cannot be right."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared.calendar.holidays import HOLIDAYS_FOLDER, HolidayDataError, HolidayYear, load_holiday_years

YEARS = {year.year: year for year in load_holiday_years()}


def test_every_year_from_2025_to_2027_is_shipped_and_2027_is_provisional() -> None:
    assert sorted(YEARS) == [2025, 2026, 2027]
    assert YEARS[2025].status == YEARS[2026].status == "announced"
    assert YEARS[2027].status == "provisional"
    assert YEARS[2027].announced_on is None
    assert not YEARS[2027].working_days


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_each_year_cites_its_source(year: int) -> None:
    source = YEARS[year].source
    assert "Labor Code" in source
    assert "https://" in source
    if YEARS[year].status == "announced":
        assert "TB-" in source  # the notice that announced the schedule
        assert YEARS[year].announced_on is not None


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_each_year_has_the_eleven_statutory_days_and_a_compensatory_day_per_weekend_holiday(year: int) -> None:
    holidays = [day.date for day in YEARS[year].days_off if day.kind == "holiday"]
    assert len(holidays) == 11  # Labor Code art. 112(1): 1 + 5 (Tết) + 1 + 1 + 1 + 2
    for statutory in (date(year, 1, 1), date(year, 4, 30), date(year, 5, 1), date(year, 9, 2)):
        assert statutory in holidays
    on_weekends = [day for day in holidays if day.weekday() >= 5]
    compensatory = [day.date for day in YEARS[year].days_off if day.kind == "compensatory"]
    assert len(compensatory) == len(on_weekends)


def test_the_lunar_holidays_are_on_their_dates() -> None:
    def holiday_dates(year: int, name: str) -> list[date]:
        return [day.date for day in YEARS[year].days_off if day.kind == "holiday" and day.name.en == name]

    assert holiday_dates(2026, "Lunar New Year") == [date(2026, 2, day) for day in range(16, 21)]
    assert holiday_dates(2027, "Lunar New Year") == [date(2027, 2, day) for day in range(4, 9)]  # 6 Feb = Tết
    hung_kings = "Hung Kings' Commemoration Day"
    assert holiday_dates(2025, hung_kings) == [date(2025, 4, 7)]
    assert holiday_dates(2026, hung_kings) == [date(2026, 4, 26)]
    assert holiday_dates(2027, hung_kings) == [date(2027, 4, 16)]


def test_vietnam_culture_day_is_not_in_the_data_without_a_law_in_force() -> None:
    assert all(day.date != date(year, 11, 24) for year in YEARS for day in YEARS[year].days_off)
    assert "24 November" in (HOLIDAYS_FOLDER / "2026.yaml").read_text(encoding="utf-8")


def test_a_published_year_reads_back_the_same() -> None:
    for year in YEARS.values():
        assert HolidayYear.model_validate(year.model_dump(mode="json")) == year


def holiday_year(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "year": 2030,
        "status": "announced",
        "source": "Notice 1/TB-BNV",
        "announced_on": "2029-11-01",
        "days_off": [{"date": "2030-01-01", "kind": "holiday", "name": {"vi": "Tết Dương lịch", "en": "New Year"}}],
        "working_days": [],
    }
    return {**data, **changes}


def day_off(on: str, kind: str = "holiday") -> dict[str, Any]:
    return {"date": on, "kind": kind, "name": {"vi": "x", "en": "x"}}


def make_up(on: str, replaces: str | None = None) -> dict[str, Any]:
    return {"date": on, "replaces": replaces, "name": {"vi": "x", "en": "x"}}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"days_off": [day_off("2031-01-01")]}, "dates outside 2030"),
        ({"days_off": [day_off("2030-01-01"), day_off("2030-01-01")]}, "days off listed twice"),
        ({"working_days": [make_up("2030-01-07")]}, "not a Saturday or Sunday"),  # a Monday
        (
            {"days_off": [day_off("2030-01-05", "bridge")], "working_days": [make_up("2030-01-05")]},
            "both a day off and a working day",
        ),
        ({"days_off": [day_off("2030-01-05", "compensatory")]}, "falls on a weekend"),
        ({"working_days": [make_up("2030-01-12", replaces="2030-01-08")]}, "not a swapped day off"),
        ({"announced_on": None}, "needs announced_on"),
        ({"status": "provisional", "working_days": [make_up("2030-01-12")]}, "provisional"),
        ({"status": "provisional", "days_off": [day_off("2030-01-02", "bridge")]}, "provisional"),
        ({"source": ""}, "source"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_impossible_data_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HolidayYear.model_validate(holiday_year(**changes))


def test_loading_refuses_a_file_named_after_another_year_and_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "2031.yaml").write_text("year: 2030\nstatus: provisional\nsource: x\ndays_off: []\n", encoding="utf-8")
    with pytest.raises(HolidayDataError, match=r"2031\.yaml: holds year 2030"):
        load_holiday_years(tmp_path)
    (tmp_path / "2031.yaml").write_text("year: 2031\nstatus: announced\nsource: x\ndays_off: []\n", encoding="utf-8")
    with pytest.raises(HolidayDataError, match=r"2031\.yaml.*announced_on"):
        load_holiday_years(tmp_path)
    assert load_holiday_years(tmp_path / "absent") == []
