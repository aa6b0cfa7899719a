from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.clock import (
    ClockSettings,
    ControllableClock,
    ControlledClockRefusedError,
    SystemClock,
    clock_from,
    parse_duration,
)


def test_production_refuses_a_controllable_clock(tmp_path: Path) -> None:
    with pytest.raises(ControlledClockRefusedError, match="production"):
        clock_from(ClockSettings(control_file=tmp_path / "clock.json", environment="production"))
    assert isinstance(clock_from(ClockSettings(environment="production")), SystemClock)


def test_two_readers_of_one_file_move_together(tmp_path: Path) -> None:
    control = tmp_path / "clock.json"
    writer, reader = ControllableClock(control), ControllableClock(control)
    before = reader.now()
    writer.advance(timedelta(days=3))
    assert reader.now() - before >= timedelta(days=3)
    assert reader.now() - before < timedelta(days=3, seconds=5)


def test_a_frozen_instant_stays_until_advanced(tmp_path: Path) -> None:
    control = tmp_path / "clock.json"
    clock = ControllableClock(control)
    clock.set(datetime(2026, 2, 13, 10, 0, tzinfo=UTC), frozen=True)
    reader = ControllableClock(control)
    assert reader.now() == datetime(2026, 2, 13, 10, 0, tzinfo=UTC)
    clock.advance(timedelta(hours=5))
    assert reader.now() == datetime(2026, 2, 13, 15, 0, tzinfo=UTC)
    clock.reset()
    assert abs(reader.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_naive_instants_and_bad_durations_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="offset"):
        ControllableClock(tmp_path / "c.json").set(datetime(2026, 1, 1))
    assert parse_duration("3d") == timedelta(days=3)
    assert parse_duration("90s") == timedelta(seconds=90)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("three days")
