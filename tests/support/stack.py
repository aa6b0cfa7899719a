"""A whole local stack under test (`python -m deploy.local`), in a folder and on ports of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

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

    def env_file(self) -> dict[str, str]:
        lines = (self.home / "stack.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def demo_token(stack: StackCommand, agency: str | None, role: str) -> dict[str, str]:
    """The Authorization header of the demo staff token `make up` wrote for that agency (any, for None: there is
    one admin) and role."""
    demo = json.loads((stack.home / "demo-tokens.json").read_text())
    found = next(t["token"] for t in demo["tokens"] if agency in (None, t["agency"]) and t["role"] == role)
    return {"Authorization": f"Bearer {found}"}
