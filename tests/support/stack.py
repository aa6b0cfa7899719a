"""A whole local stack under test (`python -m deploy.local`), in a folder and on ports of its own."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from deploy.local.part import Part
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from shared.clock import ControllableClock
from tests.infrastructure import REPO


class StackCommand:
    def __init__(self, home: Path, port_base: int) -> None:
        self.home = home
        self.port_base = port_base
        # The stack under test must not inherit the suite's own broker and database.
        inherited = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
        self.env = {
            **inherited,
            "LIENTHONG_HOME": str(home),
            "LIENTHONG_PORT_BASE": str(port_base),
            "LIENTHONG_PROFILE": "test",
            # As in a shell that sourced another stack's stack.env: this stack must not follow it.
            "INTAKE_DATABASE_URL": "postgresql://lienthong@127.0.0.1:1/lienthong_intake",
        }

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "deploy.local", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def status(self) -> dict[str, dict[str, str]]:
        result = self("status", "--json")
        assert result.returncode == 0, result.stderr
        return {row["part"]: row for row in json.loads(result.stdout)}

    def up_at(self, instant: datetime) -> None:
        """Start the whole stack and set its shared clock to `instant`, running from there."""
        started = self("up")
        assert started.returncode == 0, started.stdout + started.stderr
        ControllableClock(self.home / "clock.json").set(instant)

    def parts(self) -> Stack:
        """The stack's parts, to stop, kill or start one of them from the test's own process."""
        return Stack(StackSettings(home=self.home, port_base=self.port_base, profile="test"))

    def env_file(self) -> dict[str, str]:
        lines = (self.home / "stack.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def demo_token(stack: StackCommand, agency: str | None, role: str) -> dict[str, str]:
    """The Authorization header of the demo staff token `make up` wrote for that agency (any, for None: there is
    one admin) and role."""
    demo = json.loads((stack.home / "demo-tokens.json").read_text())
    found = next(t["token"] for t in demo["tokens"] if agency in (None, t["agency"]) and t["role"] == role)
    return {"Authorization": f"Bearer {found}"}


async def restart(part: Part) -> None:
    """Start one part again, as `make up` would, and wait until it is ready."""
    await asyncio.to_thread(part.launch)
    await asyncio.to_thread(part.wait_ready)


@contextmanager
def running_stack(home: Path, port_base: int, at: datetime, **env: str) -> Iterator[StackCommand]:
    """A whole stack for a tier, its clock running from `at`, stopped afterwards. `env` reaches its processes,
    those `up` starts and those a test restarts from its own process."""
    command = StackCommand(home, port_base)
    command.env.update(env)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        command.up_at(at)
        try:
            yield command
        finally:
            stopped = command("down")
            assert stopped.returncode == 0, stopped.stdout + stopped.stderr
