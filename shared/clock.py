"""The one clock every service and scheduler reads.

In production it is the system clock. A local or test stack may instead make it *controllable*: every process
of the stack reads the same control file (`CLOCK_CONTROL_FILE`), which holds an offset from real time or a frozen
instant, so that `lienthong clock advance 3d` moves "now" for all of them at once — overdue dossiers, apologies
and quiet hours are then tested without waiting. A controllable clock is refused when `CLOCK_ENVIRONMENT` is
`production`: an agency's deadlines must never depend on a file someone can edit.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClockSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLOCK_", extra="ignore")

    control_file: Path | None = Field(
        None, description="Makes the clock controllable through this file (local and test stacks only)."
    )
    environment: Literal["development", "test", "production"] = Field(
        "development", description="`production` refuses a controllable clock."
    )


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ControlledClockRefusedError(RuntimeError):
    pass


class ControllableClock:
    """Real time moved by the control file: `{"offset_s": 3600}` or `{"frozen_at": "2026-12-01T02:00:00Z"}`.
    The file is re-read when it changes (its modification time), so a change reaches running processes."""

    def __init__(self, control_file: Path) -> None:
        self.control_file = control_file
        self._seen: tuple[float, int] | None = None
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None

    def now(self) -> datetime:
        self._refresh()
        return self._frozen_at if self._frozen_at is not None else datetime.now(UTC) + self._offset

    def _refresh(self) -> None:
        try:
            stat = self.control_file.stat()
        except FileNotFoundError:
            self._seen, self._offset, self._frozen_at = None, timedelta(0), None
            return
        if self._seen == (stat.st_mtime, stat.st_size):
            return
        state = json.loads(self.control_file.read_text() or "{}")
        self._offset = timedelta(seconds=float(state.get("offset_s", 0)))
        frozen = state.get("frozen_at")
        self._frozen_at = datetime.fromisoformat(frozen) if frozen else None
        self._seen = (stat.st_mtime, stat.st_size)

    # -- what `lienthong clock` does ---------------------------------------------------------------------------

    def set(self, instant: datetime, *, frozen: bool = False) -> None:
        if instant.tzinfo is None:
            raise ValueError("give the instant with its offset, e.g. 2026-12-01T09:00+07:00")
        if frozen:
            self._write({"frozen_at": instant.astimezone(UTC).isoformat()})
        else:
            self._write({"offset_s": (instant - datetime.now(UTC)).total_seconds()})

    def advance(self, by: timedelta) -> None:
        self._refresh()
        if self._frozen_at is not None:
            self._write({"frozen_at": (self._frozen_at + by).isoformat()})
        else:
            self._write({"offset_s": (self._offset + by).total_seconds()})

    def reset(self) -> None:
        self.control_file.unlink(missing_ok=True)

    def _write(self, state: dict[str, str | float]) -> None:
        self.control_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.control_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state))
        os.replace(temporary, self.control_file)  # readers see the old state or the new, never half


def clock_from(settings: ClockSettings) -> Clock:
    if settings.control_file is None:
        return SystemClock()
    if settings.environment == "production":
        raise ControlledClockRefusedError(
            "CLOCK_CONTROL_FILE is set but CLOCK_ENVIRONMENT is production: a controllable clock is refused there"
        )
    return ControllableClock(settings.control_file)


DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `4h`, `3d` (calendar time, as a test moves the clock)."""
    match = DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 4h or 3d")
    return timedelta(**{UNITS[match.group(2)]: float(match.group(1))})
