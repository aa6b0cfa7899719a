"""One year of public holidays as data (`deploy/rules/holidays/<year>.yaml`), validated on load.

The schedule for civil servants is announced each year (Tết moves with the lunar calendar, days are swapped to
make long breaks, a holiday on a weekend gives a compensatory day off). It is never computed from guesses: a
year enters the system only as a file citing its source. A year not announced yet is shipped with the statutory
dates only, marked `provisional`, and replaced by the announced schedule when it comes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

HOLIDAYS_FOLDER = Path(__file__).resolve().parents[2] / "deploy" / "rules" / "holidays"

DayOffKind = Literal["holiday", "compensatory", "bridge"]
KIND_LABELS: dict[DayOffKind, str] = {
    "holiday": "public holiday",
    "compensatory": "compensatory day off",  # nghỉ bù: a holiday fell on a weekend (Labor Code art. 111(3))
    "bridge": "swapped day off",  # hoán đổi: a working day given off, worked on a make-up day instead
}


class HolidayDataError(ValueError):
    """A holiday file that cannot be used; the message names the file and what is wrong."""


class Name(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def __str__(self) -> str:
        return f"{self.vi} ({self.en})"


class DayOff(BaseModel):
    """A weekday without work, or a holiday on a weekend; `name` is the holiday it belongs to (for a compensatory
    or swapped day off, the holiday that gave it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: dt.date
    name: Name
    kind: DayOffKind


class MakeUpDay(BaseModel):
    """A weekend day worked to make up for a swapped day off (làm bù); `replaces` is that day off, and `name` the
    holiday whose break the swap lengthened."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: dt.date
    replaces: dt.date | None = None
    name: Name


class HolidayYear(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int = Field(ge=2000, le=2100)
    status: Literal["announced", "provisional"]
    source: str = Field(min_length=1)
    announced_on: dt.date | None = None
    days_off: list[DayOff]
    working_days: list[MakeUpDay] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> HolidayYear:
        problems = [*self._date_problems(), *self._status_problems()]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _date_problems(self) -> list[str]:
        problems = []
        off = [day.date for day in self.days_off]
        worked = [day.date for day in self.working_days]
        outside = sorted({d for d in off + worked if d.year != self.year})
        if outside:
            problems.append(f"dates outside {self.year}: {', '.join(map(str, outside))}")
        for label, dates in (("days off", off), ("make-up working days", worked)):
            repeated = sorted({d for d in dates if dates.count(d) > 1})
            if repeated:
                problems.append(f"{label} listed twice: {', '.join(map(str, repeated))}")
        both = sorted(set(off) & set(worked))
        if both:
            problems.append(f"both a day off and a working day: {', '.join(map(str, both))}")
        problems += [f"make-up working day {d} is not a Saturday or Sunday" for d in worked if d.weekday() < 5]
        problems += [
            f"{KIND_LABELS[day.kind]} {day.date} falls on a weekend"
            for day in self.days_off
            if day.kind != "holiday" and day.date.weekday() >= 5
        ]
        bridges = {day.date for day in self.days_off if day.kind == "bridge"}
        for made_up in self.working_days:
            replaced = made_up.replaces
            if replaced is not None and replaced.year == self.year and replaced not in bridges:
                problems.append(f"make-up day {made_up.date} replaces {replaced}, which is not a swapped day off")
        return problems

    def _status_problems(self) -> list[str]:
        if self.status == "announced":
            return [] if self.announced_on else ["an announced schedule needs announced_on"]
        # Provisional data holds the statutory dates only: swaps are the government's choice, never ours.
        problems = []
        if self.working_days:
            problems.append("a provisional schedule cannot have make-up working days")
        if any(day.kind == "bridge" for day in self.days_off):
            problems.append("a provisional schedule cannot have swapped days off")
        return problems


def load_holiday_years(folder: Path = HOLIDAYS_FOLDER) -> list[HolidayYear]:
    """Every `*.yaml` of the folder, sorted by year. A file named after a year must hold that year."""
    years: dict[int, HolidayYear] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, ValueError) as error:  # PyYAML raises ValueError for a date such as 2031-02-30
            raise HolidayDataError(f"{path}: not readable: {' '.join(str(error).split())}") from error
        try:
            loaded = HolidayYear.model_validate(raw)
        except ValidationError as error:
            raise HolidayDataError(f"{path}: {_problems(error)}") from error
        if path.stem.isdigit() and int(path.stem) != loaded.year:
            raise HolidayDataError(f"{path}: holds year {loaded.year}, not {path.stem}")
        if loaded.year in years:
            raise HolidayDataError(f"{path}: year {loaded.year} is given twice in {folder}")
        years[loaded.year] = loaded
    return [years[year] for year in sorted(years)]


def _problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, problem['loc'])) or 'year'}: {problem['msg']}"
        for problem in error.errors(include_url=False)
    )
