"""The example subscriber of docs/events.md (examples/subscriber.py) as the process an integrator runs, and the
lines it printed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from pathlib import Path

from tests.infrastructure import REPO


@dataclass
class Subscriber:
    """examples/subscriber.py as a process, and the lines it printed so far."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)

    async def printed(self, event_ids: Collection[str], timeout_s: float = 60) -> list[str]:
        """Reads its output until each of `event_ids` has been printed; returns every event id printed so far, in
        order."""
        deadline = time.monotonic() + timeout_s
        wanted = set(event_ids)
        assert self.process.stdout is not None
        while not wanted <= set(self.ids()):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"not all printed within {timeout_s} s; the last lines: {self.lines[-10:]}"
            line = await asyncio.wait_for(self.process.stdout.readline(), remaining)
            assert line, "the subscriber stopped"
            self.lines.append(line.decode())
        return self.ids()

    def ids(self) -> list[str]:
        return [line.rsplit(" id=", 1)[1].strip() for line in self.lines if " id=" in line]


@contextlib.asynccontextmanager
async def subscriber(bootstrap_servers: str, group: str, topic: str, log: Path) -> AsyncIterator[Subscriber]:
    """examples/subscriber.py running with its own `group` on `topic`; stopped by Ctrl-C (SIGINT) at the end."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers, "SUBSCRIBER_GROUP": group,
           "SUBSCRIBER_TOPIC": topic}  # fmt: skip
    with log.open("ab") as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(REPO / "examples" / "subscriber.py"), cwd=REPO, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=errors,
        )  # fmt: skip
        try:
            yield Subscriber(process)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)  # Ctrl-C: it leaves its group and ends
                assert await asyncio.wait_for(process.wait(), 30) == 0
