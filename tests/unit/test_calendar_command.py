"""`lienthong calendar due|explain`, through the parser it adds to the `lienthong` command."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from shared.calendar.commands import add_calendar_parser, run_calendar
from shared.calendar.holidays import HOLIDAYS_FOLDER


def calendar(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="lienthong")
    add_calendar_parser(parser.add_subparsers(dest="command", required=True))
    return run_calendar(parser.parse_args(["calendar", *argv]))


@pytest.mark.parametrize(
    ("argv", "printed"),
    [
        # Friday 13 February 2026 10:00 + 3 working days: 5.5 h on Friday, Tết 14-22 February, 8 h on Monday 23,
        # 8 h on Tuesday 24, then 2.5 h on Wednesday 25 from 07:30.
        (["--received", "2026-02-13T10:00", "--days", "3"], "2026-02-25 10:00"),
        (["--received", "2026-02-13T03:00+00:00", "--days", "3"], "2026-02-25 10:00"),  # the same instant, UTC
        (["--received", "2026-02-13 10:00", "--hours", "4"], "2026-02-13 15:30"),  # 1.5 h + 13:00-15:30
        (["--received", "2026-04-20T10:00", "--calendar-days", "7"], "2026-04-28 17:00"),  # 27 April compensatory
        (["--received", "2026-02-09T07:30", "--days", "5", "--paused", "21.5"], "2026-02-25 14:30"),
        (["--received", "2026-12-15T09:00", "--calendar-days", "30"], "2027-01-14 17:00"),
    ],
)
def test_due_prints_the_local_due_instant(argv: list[str], printed: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert calendar("due", *argv) == 0
    assert capsys.readouterr().out == f"{printed}\n"


def test_explain_prints_the_time_counted_day_by_day(capsys: pytest.CaptureFixture[str]) -> None:
    assert calendar("explain", "--received", "2026-02-13T10:00", "--days", "3") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "received 2026-02-13 10:00 (Asia/Ho_Chi_Minh); limit 3 working days = 24:00 working hours"
    assert lines[1].startswith("2026-02-13 Fri  10:00-11:30, 13:00-17:00")
    assert "counted   5:30" in lines[1]
    assert "total    5:30" in lines[1]
    assert lines[2] == "2026-02-14 Sat  skipped: weekend"
    assert lines[4] == "2026-02-16 Mon  skipped: public holiday: Tết Nguyên Đán (Lunar New Year)"
    assert lines[-2].startswith("2026-02-25 Wed  07:30-10:00")
    assert "total   24:00" in lines[-2]
    assert lines[-1] == "due 2026-02-25 10:00"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--received", "13/02/2026", "--days", "3"], "--received '13/02/2026' is not a date and time"),
        (["--days", "3"], "--received is required"),
        (["--received", "2026-02-13T10:00", "--days", "0"], "--days must be more than zero"),
        (["--received", "2026-02-13T10:00", "--hours", "-4"], "--hours must be more than zero"),
        (["--received", "2026-02-13T10:00", "--days", "three"], "--days 'three' is not a number"),
        (["--received", "2026-02-13T10:00", "--days", "3", "--calendar-days", "5"], "--days and --calendar-days"),
        (["--received", "2026-02-13T10:00"], "give a time limit"),
        (["--received", "2026-02-13T10:00", "--calendar-days", "2.5"], "--calendar-days must be a whole number"),
        (["--received", "2026-02-13T10:00", "--days", "1", "--paused", "-1"], "--paused must be zero or more"),
    ],
)
def test_bad_input_fails_with_one_clear_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert calendar("due", *argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"lienthong calendar: {message}")
    assert captured.err.count("\n") == 1


def test_a_year_without_data_fails_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert calendar("due", "--received", "2027-12-20T10:00", "--days", "10") == 1
    err = capsys.readouterr().err
    assert "no holiday data for 2028" in err
    assert "publish the 2028 holiday schedule" in err
    assert err.count("\n") == 1
    shutil.copy(HOLIDAYS_FOLDER / "2026.yaml", tmp_path / "2026.yaml")
    assert (
        calendar("explain", "--received", "2026-12-15T09:00", "--calendar-days", "30", "--holidays", str(tmp_path)) == 1
    )
    assert "no holiday data for 2027" in capsys.readouterr().err
    assert calendar("due", "--received", "2026-03-02T09:00", "--days", "1", "--holidays", str(tmp_path / "no")) == 1
    assert "no holiday data folder" in capsys.readouterr().err
