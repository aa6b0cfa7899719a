"""Running a service as the separate process it is in production (`python -m services.<name>`)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.infrastructure import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_low_port() -> int:
    """A free port below the ephemeral range (so that no client's own port can take it) and away from the shared
    test stack's (28000 and up)."""
    for port in random.sample(range(26000, 27000), 1000):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 26000-26999")


def wait_for(url: str, status: int = 200, timeout_s: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    last: httpx.Response | Exception | None = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=2)
            if last.status_code == status:
                return last
        except httpx.HTTPError as error:
            last = error
        time.sleep(0.2)
    said = f"{last!r} {last.text[:500]}" if isinstance(last, httpx.Response) else repr(last)
    raise AssertionError(f"{url} did not answer {status} within {timeout_s} s; last: {said}")


@dataclass
class KillableProcess:
    """A process the fault tests kill with SIGKILL and start again, logging to one file across its lives."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_file: Path
    process: subprocess.Popen[bytes] | None = None
    kills: int = 0

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, *self.argv], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


async def kill_and_restart(
    process: KillableProcess, kills: int, between_s: tuple[float, float], down_s: tuple[float, float], seed: int = 2026
) -> None:
    """`kills` times: wait a random moment, SIGKILL the process, start it again a random moment later."""
    rng = random.Random(seed)
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(*between_s))
        process.kill()
        await asyncio.sleep(rng.uniform(*down_s))
        process.start()


# The folder the services that tests start log in: tests/conftest.py sets it under pytest's base temporary folder,
# which `make test` keeps in .local/test-runs/<tier> and scans for personal data.
SERVICE_LOGS = "LIENTHONG_TEST_LOGS"


@contextmanager
def running_service(name: str, env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """Start the service (on a free port unless given); yields its base URL once it answers at all. Its output goes
    to `<name>-<port>.log` in the folder of SERVICE_LOGS, and stays there."""
    port = port or free_port()
    log_file = Path(os.environ.get(SERVICE_LOGS, tempfile.gettempdir())) / f"{name}-{port}.log"
    # A file, not a pipe: a pipe nobody reads fills up and blocks the service the moment it logs a lot.
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            cwd=REPO,
            env={**os.environ, **env, f"{name.upper()}_PORT": str(port), "LOG_FORMAT": "json"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{base}/healthz")
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)
            if process.returncode not in (0, -15):
                print(log_file.read_text(errors="replace")[-3000:])
