"""The stack under load: the bench's own — a fresh local stack in a folder and on ports of its own, started as the
end-to-end tiers start theirs (tests/support/stack.py) — or the one `make up` runs (`.local/stack.env`); its
processes' pids, resident memory and CPU time; its shared clock."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psutil

from shared.clock import ControllableClock
from tests.support.stack import StackCommand, running_stack

# A Monday morning: a working week ahead, no quiet hours, nothing due during the run.
MONDAY_MORNING = datetime.fromisoformat("2026-12-07T08:00:00+07:00")


@contextlib.contextmanager
def own_stack(home: Path, port_base: int, profile: str) -> Iterator[StackCommand]:
    """A fresh stack (whatever an earlier run left in `home` is deleted first), stopped afterwards."""
    command = StackCommand(home, port_base)
    cleaned = command("clean")
    if cleaned.returncode != 0:
        raise RuntimeError(f"could not clear {home}: {cleaned.stdout}{cleaned.stderr}")
    # Hundreds of online applicants behind one address would trip the anonymous API's per-address limit.
    with running_stack(home, port_base, MONDAY_MORNING, LIENTHONG_PROFILE=profile,
                       INTAKE_PUBLIC_REQUESTS_PER_MINUTE="1000000") as stack:  # fmt: skip
        yield stack


def the_running_stack(env_file: Path) -> StackCommand:
    """The stack that wrote `env_file` (`make up` writes .local/stack.env)."""
    if not env_file.exists():
        raise FileNotFoundError(f"{env_file} not found: `make up` starts a stack and writes it")
    lines = env_file.read_text().splitlines()
    env = {name: shlex.split(value)[0] for name, value in (line.split("=", 1) for line in lines if "=" in line)}
    return StackCommand(Path(env["LIENTHONG_HOME"]), int(env["LIENTHONG_PORT_BASE"]))


def service_pids(stack: StackCommand) -> dict[str, int]:
    parts = stack.parts()
    pids = {part.name: part.pid() for part in parts.services}
    missing = [name for name, pid in pids.items() if pid is None]
    if missing:
        raise RuntimeError(f"not running in {stack.home}: {', '.join(missing)}")
    return {name: pid for name, pid in pids.items() if pid is not None}


def python_pids(stack: StackCommand) -> dict[str, int]:
    """The stack's Python processes — the services, the console, the simulated providers — and the bench's driver:
    what `--py-spy` profiles."""
    parts = stack.parts()
    python = [*parts.simulators, *parts.services, parts.console]
    pids = {part.name: pid for part in python if (pid := part.pid()) is not None}
    return {**pids, "driver": os.getpid()}


def stop_services(stack: StackCommand) -> None:
    for part in stack.parts().services:
        part.stop()


class PeakMemory:
    """The highest resident set size of each service process, sampled while the load runs."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.peak_mb = dict.fromkeys(pids, 0.0)

    def sample(self) -> None:
        for name, pid in self.pids.items():
            with contextlib.suppress(psutil.Error):
                resident = psutil.Process(pid).memory_info().rss / 2**20
                self.peak_mb[name] = max(self.peak_mb[name], resident)

    async def watch(self, every_s: float = 1.0) -> None:
        while True:
            self.sample()
            await asyncio.sleep(every_s)


class CpuTime:
    """CPU time (user and system, of every thread) used so far by each process of the stack — the database with its
    backends (those gone are counted by the postmaster that reaped them), the broker, the simulated providers, the
    services — and by the bench's own driver."""

    def __init__(self, stack: StackCommand) -> None:
        self.pids = [(part.name, pid) for part in stack.parts().parts if (pid := part.pid()) is not None]
        self.pids.append(("driver", os.getpid()))

    def read(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for name, pid in self.pids:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                times = process.cpu_times()
                seconds = times.user + times.system + times.children_user + times.children_system
                for child in process.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        seconds += sum(child.cpu_times()[:2])
                used[name] = seconds
        return used


async def run_clock(clock_file: Path, minute_every_s: float) -> None:
    """The stack's shared clock moves a minute every `minute_every_s`: the carrier simulator moves a shipment a stage
    per minute of it, and the results going back by post must arrive within the run."""
    clock = ControllableClock(clock_file)
    while True:
        await asyncio.sleep(minute_every_s)
        clock.advance(timedelta(minutes=1))
