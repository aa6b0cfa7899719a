"""`python -m bench` (`make bench`): dossiers per second end to end at increasing offered load, against the same
machine's bare floor. Progress goes to stderr; stdout gets a line per load level, the counts per dossier, the
floor, and last one JSON line, also written with the plot to --out. docs/performance.md explains the method."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench.floor import PerDossier, measure_floor, per_dossier, read_counters, settled
from bench.hops import figures
from bench.load import Load, Statuses
from bench.profiling import py_spy
from bench.report import Measured, level_line, stop_reason, summary, write_results
from bench.target import (
    CpuTime,
    PeakMemory,
    own_stack,
    python_pids,
    run_clock,
    service_pids,
    stop_services,
    the_running_stack,
)
from shared.logging import configure_logging
from shared.settings import KafkaSettings, LogSettings
from tests.infrastructure import REPO
from tests.support.stack import StackCommand, demo_token
from tests.support.workload import Kind, Workload

PATIENCE_S = 180  # a dossier making no progress this long counts as failed
WARM_UP_S = 240
FINISH_S = 120  # for the drives still going after the last level (hand-overs, deliveries by post)
SETTLE_S = 60


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    stack = parser.add_argument_group("the stack")
    stack.add_argument("--use-running", nargs="?", const=REPO / ".local" / "stack.env", type=Path, metavar="ENV",
                       help="load the running stack that wrote ENV (default .local/stack.env, `make up`'s) instead "
                            "of starting one; its clock is moved forward too, and its public API's per-address "
                            "limit must allow the online submissions (INTAKE_PUBLIC_REQUESTS_PER_MINUTE)")  # fmt: skip
    stack.add_argument("--home", type=Path, default=REPO / ".local" / "bench", help="the bench's own stack's folder")
    stack.add_argument("--port-base", type=int, default=int(os.environ.get("BENCH_PORT_BASE", "6000")),
                       help="its ports' base (default $BENCH_PORT_BASE or 6000)")  # fmt: skip
    stack.add_argument("--profile", choices=("dev", "test"), default="dev",
                       help="dev: durable commits, as `make up` (default); test: no fsync")  # fmt: skip
    stack.add_argument("--clock-minute-every-s", type=float, default=5.0,
                       help="the stack's clock moves a minute this often, for the carrier's stages")  # fmt: skip
    load = parser.add_argument_group("the load")
    load.add_argument("--rates", default="1,1.5,2,3,4,6,8,12,16,24,32",
                      help="offered loads to try in turn, dossiers per second")  # fmt: skip
    load.add_argument("--budget-s", type=float, default=420, help="no new level once the levels took this long")
    load.add_argument("--level-s", type=float, default=30, help="arrivals last this long at each level")
    load.add_argument("--drain-s", type=float, default=45, help="then this long at most for their results")
    load.add_argument("--min-growth", type=float, default=1.1,
                      help="stop once a level falls behind its arrivals and its rate is below this times the best "
                           "before")  # fmt: skip
    load.add_argument("--max-p99-ms", type=float, default=5000, help="stop once p99 accept→routed is above this")
    load.add_argument("--max-unfinished", type=float, default=0.2,
                      help="stop once more than this share of a level's dossiers is unfinished after it")  # fmt: skip
    load.add_argument("--seed", type=int, default=11, help="of the arrivals and the mix")
    measure = parser.add_argument_group("the measures")
    measure.add_argument("--idle-s", type=float, default=10, help="the idle stack's background is counted this long")
    measure.add_argument("--floor-s", type=float, default=5, help="each bare round trip is timed this long")
    measure.add_argument("--floor-concurrency", type=int, default=16, help="connections making bare transactions")
    measure.add_argument("--py-spy", type=Path, metavar="DIR",
                         help="profile each Python process (services, simulators, the driver) with py-spy "
                              "during the load levels, into DIR")  # fmt: skip
    measure.add_argument("--out", type=Path, default=REPO / "docs" / "performance",
                         help="where bench.json and bench.png are written")  # fmt: skip
    return parser.parse_args(argv)


def say(message: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def git(*args: str) -> str:
    found = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    return found.stdout.strip()


async def bench(args: argparse.Namespace, stack: StackCommand, own: bool) -> dict[str, Any]:
    env = stack.env_file()
    kafka = KafkaSettings(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"])
    database_url = env["DATABASE_URL"]
    pids = service_pids(stack)
    memory = PeakMemory(pids)
    cpu = CpuTime(stack)
    requests = 0

    async def count_request(_: httpx.Request) -> None:
        nonlocal requests
        requests += 1

    tokens = functools.cache(lambda agency, role: demo_token(stack, agency, role))
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits, event_hooks={"request": [count_request]}) as http:
        statuses = Statuses()
        workload = Workload(http, env, tokens, patience_s=PATIENCE_S, statuses=statuses)
        # Numbers make the applicants' phone numbers: another run's on a running stack would share its SMS limit.
        load = Load(workload, statuses, kafka, args.seed, first_number=0 if own else int(time.time()) % 9 * 100_000)
        following = asyncio.Event()
        background = [asyncio.create_task(load.follow_topics(following)), asyncio.create_task(memory.watch()),
                      asyncio.create_task(run_clock(stack.home / "clock.json", args.clock_minute_every_s))]  # fmt: skip
        try:
            await asyncio.wait_for(following.wait(), 60)
            say("warm-up: a dossier of each kind, to the end")
            warm_up = [load.hand_in(kind) for kind in Kind]
            await load.finish(WARM_UP_S)
            if any(load.failed(d) for d in warm_up):
                raise RuntimeError(f"the warm-up dossiers failed: {dict(load.failures())}")
            say(f"idle: the stack's background transactions, for {args.idle_s:g} s")
            idle_from = await read_counters(database_url, kafka, cpu.read())
            await asyncio.sleep(args.idle_s)
            idle = (idle_from, await read_counters(database_url, kafka, cpu.read()))
            before, requests_before = idle[1], requests
            with py_spy(python_pids(stack), args.py_spy) if args.py_spy else contextlib.nullcontext():
                levels = await rising_load(args, load)
            say("the dossiers still on their way finish (hand-overs, deliveries by post)")
            cancelled = await load.finish(FINISH_S)
            in_flight = await settled(database_url, kafka, SETTLE_S)
            after = await read_counters(database_url, kafka, cpu.read())
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
    driven = sum(level.handed_in for level in levels)
    per = per_dossier(idle, (before, after), driven)
    http_per_dossier = (requests - requests_before) / driven
    print_counts(per, http_per_dossier, driven)
    if own:
        say("the services stop: the floor is measured without them")
        await asyncio.to_thread(stop_services, stack)
    say(f"floor: bare transactions, produce and consume round trips, {args.floor_s:g} s each")
    rates = await measure_floor(database_url, kafka, args.floor_s, args.floor_concurrency)
    print(f"floor: {rates.transactions_per_s:.0f} transactions/s ({args.floor_concurrency} connections), "
          f"{rates.produced_per_s:.0f} records produced/s, {rates.consumed_per_s:.0f} records consumed/s",
          flush=True)  # fmt: skip
    run = {
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no")),
        "stack": "own, profile " + args.profile if own else f"running, {stack.home}",
        "cores": os.cpu_count(),
        "cancelled_at_end": cancelled,
        "in_flight_at_end": in_flight,
        "failures": dict(load.failures()),
    }
    return summary(levels, per, http_per_dossier, rates, memory.peak_mb, run)


async def rising_load(args: argparse.Namespace, load: Load) -> list[Measured]:
    """The load levels in turn, each printed, until the stop rule says no higher."""
    levels: list[Measured] = []
    started = time.monotonic()
    for rate in [float(r) for r in args.rates.split(",")]:
        if time.monotonic() - started > args.budget_s:
            say(f"no higher load: the levels took their {args.budget_s:g} s")
            break
        say(f"level {rate:g}/s: arrivals for {args.level_s:g} s")
        level = await load.level(rate, args.level_s, args.drain_s)
        level_figures = figures(load.timeline_of(d) for d in level.dossiers)
        measured = Measured(rate, len(level.dossiers) / args.level_s, level_figures, len(level.dossiers), level.failed,
                            level.unfinished)  # fmt: skip
        levels.append(measured)
        print(level_line(measured), flush=True)
        reason = stop_reason(levels, args.min_growth, args.max_p99_ms, args.max_unfinished)
        if reason:
            say(f"no higher load: {reason}")
            break
    return levels


def print_counts(per: PerDossier, http_per_dossier: float, driven: int) -> None:
    by_service = ", ".join(f"{service} {n:.0f}" for service, n in per.transactions_by_service.items())
    print(f"per dossier, over the {driven} of the levels: {per.transactions:.0f} transactions ({by_service}), "
          f"{per.produced:.1f} records produced, {per.consumed:.1f} records consumed, {http_per_dossier:.1f} HTTP "
          f"requests of the driver", flush=True)  # fmt: skip
    cpu_ms = ", ".join(f"{name} {ms:.0f}" for name, ms in sorted(per.cpu_ms.items(), key=lambda item: -item[1]))
    print(f"CPU ms per dossier: {cpu_ms} (total {sum(per.cpu_ms.values()):.0f} on {os.cpu_count()} cores)", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    # The bench's own lines say what happens; a client library's retries (a new topic's first leader) would not.
    configure_logging(LogSettings(level="ERROR", format="console"))
    started, started_at = time.monotonic(), datetime.now(UTC).isoformat(timespec="seconds")
    # The driver's event loop is the services' (uvloop): the load it generates should cost as little as it can.
    if args.use_running:
        result = uvloop.run(bench(args, the_running_stack(args.use_running), own=False))
    else:
        say(f"starting the bench's own stack in {args.home} (ports from {args.port_base}, profile {args.profile})")
        with own_stack(args.home, args.port_base, args.profile) as stack:
            result = uvloop.run(bench(args, stack, own=True))
    result |= {"started_at": started_at, "duration_s": round(time.monotonic() - started)}
    results, picture = write_results(result, args.out)
    say(f"written: {results}, {picture}")
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
