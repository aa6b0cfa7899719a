"""The operators' command as an operator runs it: `lienthong` in its own process (it configures logging, which a
test must not do to pytest's), with its home and environment given, never the developer's `.local/stack.env`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.infrastructure import REPO


def lienthong_command(home: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The argv prefix and environment of `lienthong`, for a process to start (a followed `tail`) or to run."""
    return [sys.executable, "-m", "shared.cli"], {**os.environ, "LIENTHONG_HOME": str(home), **env}


def lienthong(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs `lienthong <args>` to its end."""
    command, environment = lienthong_command(home, env or {})
    return subprocess.run([*command, *args], env=environment, cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip
