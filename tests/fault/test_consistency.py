"""The consistency checker, in the spirit of Jepsen: 500 dossiers driven through the whole stack (the four services
as processes of a local stack, on a broker and a database of its own) while faults are injected at moments drawn
from a seeded random generator — SIGKILL of each service and its restart, a broker restart, a database restart,
and routing's consumer group scaled from one process to two mid-stream. Then every dossier is proved against
everything the stack recorded (tests/fault/consistency.py says what is proved), and a summary table is printed.

CONSISTENCY_SEED=<n> replays another schedule of faults; CONSISTENCY_DOSSIERS=<n> drives more (or fewer)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.local.part import Part
from services.notification.templates import default_templates
from shared.clock import ControllableClock
from shared.events.catalogue import SUBSCRIPTIONS
from shared.settings import with_database
from tests.fault.consistency import Proof, Record, prove, summary_table, unhandled_errors
from tests.processes import SERVICE_LOGS, free_low_port, running_service, wait_for
from tests.support.stack import StackCommand, demo_token, restart
from tests.support.topics import TOPICS, lag_of, read_topics, streams_of
from tests.support.workload import FINISHED, JUSTICE, Driven, Kind, Workload

DOSSIERS = int(os.environ.get("CONSISTENCY_DOSSIERS", "500"))
SEED = int(os.environ.get("CONSISTENCY_SEED", "20261202"))
IN_FLIGHT = 40
# The carrier simulator moves a shipment a stage per minute of the shared clock, and the SMS limit per number
# holds optional messages for an hour of it: the clock runs two minutes a second so both happen within the run.
CLOCK_MINUTE_EVERY_S = 0.5
KINDS = [Kind.COUNTER] * 5 + [Kind.ONLINE] * 3 + [Kind.POSTAL_RETURN] * 2
SERVICES = ("intake", "routing", "notification", "postal")


class Faults:
    """Each fault waits for its moment (a share of the dossiers handed in), strikes, and brings the part back."""

    def __init__(self, stack: StackCommand, rng: random.Random) -> None:
        self.stack = stack
        self.rng = rng
        self.parts = stack.parts()
        self.injected: list[str] = []
        self.own_logs: list[Path] = []  # of the processes started here rather than by the stack
        self.planned: list[tuple[float, str, Callable[[], Awaitable[None]]]] = []
        self.second_routing = contextlib.ExitStack()

    def schedule(self) -> list[tuple[float, str, Callable[[], Awaitable[None]]]]:
        faults: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            *[(f"SIGKILL {service}", lambda s=service: self.kill(s)) for service in SERVICES for _ in range(2)],
            ("broker restart", self.restart_broker),
            ("database restart", self.restart_database),
        ]
        moments = sorted(self.rng.uniform(0.05, 0.9) for _ in faults)
        self.rng.shuffle(faults)
        scale = (0.15, "routing consumers 1 -> 2", self.scale_routing)
        return sorted([(at, name, strike) for at, (name, strike) in zip(moments, faults, strict=True)] + [scale])

    async def run(self, progress: Progress) -> None:
        self.planned = self.schedule()
        for at, name, strike in self.planned:
            await progress.reached(at)
            print(f"  {time.strftime('%H:%M:%S')} {progress.share:4.0%} back: {name}", flush=True)
            await strike()
            self.injected.append(name)

    async def kill(self, service: str) -> None:
        part = self.parts.services[SERVICES.index(service)]
        pid = part.pid()
        assert pid is not None, f"{service} is not running"
        os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(self.rng.uniform(0, 3))
        await restart(part)

    async def restart_broker(self) -> None:
        await self.stop_for_a_while(self.parts.kafka)

    async def restart_database(self) -> None:
        await self.stop_for_a_while(self.parts.postgres)

    async def stop_for_a_while(self, part: Part) -> None:
        await asyncio.to_thread(part.stop)
        await asyncio.sleep(self.rng.uniform(2, 8))
        await restart(part)

    async def scale_routing(self) -> None:
        routing = self.parts.services[SERVICES.index("routing")]
        port = free_low_port()
        env = {**routing.environment(), "ROUTING_PORT": str(port)}
        base = await asyncio.to_thread(self.second_routing.enter_context, running_service("routing", env, port))
        self.own_logs.append(Path(os.environ[SERVICE_LOGS]) / f"routing-{port}.log")
        await asyncio.to_thread(wait_for, f"{base}/readyz")


async def run_clock(clock: ControllableClock) -> None:
    while True:
        await asyncio.sleep(CLOCK_MINUTE_EVERY_S)
        clock.advance(timedelta(minutes=1))


class Progress:
    """How many dossiers are back with their applicant: the faults strike at shares of it."""

    def __init__(self, dossiers: list[Driven]) -> None:
        self.dossiers = dossiers
        self.finished = 0
        self._changed = asyncio.Condition()

    @property
    def share(self) -> float:
        return self.finished / len(self.dossiers)

    async def count_one(self) -> None:
        async with self._changed:
            self.finished += 1
            self._changed.notify_all()

    async def reached(self, share: float) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.share >= share)

    async def report(self, every_s: float = 20) -> None:
        while True:
            await asyncio.sleep(every_s)
            waiting = Counter(d.waiting_for for d in self.dossiers if d.waiting_for != FINISHED)
            print(f"  {time.strftime('%H:%M:%S')} {self.finished}/{len(self.dossiers)} back; waiting for: "
                  f"{dict(waiting.most_common(4))}", flush=True)  # fmt: skip


async def drive(workload: Workload, progress: Progress) -> list[BaseException | Driven]:
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(dossier: Driven) -> Driven:
        async with slots:
            try:
                return await workload.drive(dossier)
            finally:
                await progress.count_one()

    return await asyncio.gather(*(one(d) for d in progress.dossiers), return_exceptions=True)


@pytest.mark.timeout(1500)
async def test_every_dossier_keeps_the_contract_through_kills_and_restarts(
    stack: StackCommand, capsys: pytest.CaptureFixture[str]
) -> None:
    env = stack.env_file()
    rng = random.Random(SEED)
    faults = Faults(stack, rng)
    dossiers = [Driven(number, rng.choice(KINDS)) for number in range(DOSSIERS)]
    clock = asyncio.create_task(run_clock(ControllableClock(stack.home / "clock.json")))
    started = time.monotonic()
    with capsys.disabled(), faults.second_routing:
        print(f"\nconsistency: {DOSSIERS} dossiers, seed {SEED}", flush=True)
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                workload = Workload(http, env, lambda agency, role: demo_token(stack, agency, role))
                progress = Progress(dossiers)
                reporting = asyncio.create_task(progress.report())
                driving = asyncio.create_task(drive(workload, progress))
                await faults.run(progress)
                outcomes = await driving
                reporting.cancel()
                driven_s = time.monotonic() - started
                failures = [o for o in outcomes if isinstance(o, BaseException)]
                in_flight = await settle(env, dossiers)
                records = await gather_records(http, env, stack, dossiers)
                dead_letters = await dead_letters_by_service(env)
        finally:
            clock.cancel()
        templated = set(default_templates().event_types())
        proofs = [prove(d, records[d.id], templated) for d in dossiers if d.id in records]
        print(f"  driven in {driven_s:.0f} s ({DOSSIERS / driven_s:.1f} dossiers/s), {workload.retried_calls} "
              f"calls retried; proved {time.monotonic() - started - driven_s:.0f} s later")  # fmt: skip
        unhandled = await asyncio.to_thread(unhandled_errors, [stack.home / "logs"], faults.own_logs)
        print(summary_table(proofs, faults.injected, unhandled), flush=True)
        print(f"  dead letters per service  {dead_letters}", flush=True)
        for proof in [p for p in proofs if p.problems][:20]:
            print(f"  {proof.dossier.code} ({proof.dossier.kind}): {'; '.join(proof.problems)}")
    why = {p.dossier.code: p.problems for p in proofs if p.problems}
    assert failures == [], f"{failures[:5]}; what the stack holds of the dossiers that failed: {why}"
    assert not any(dead_letters.values()), f"events dead-lettered under the faults: {dead_letters}"
    assert in_flight == "", f"still in flight after the run: {in_flight}"
    assert faults.injected == [name for _, name, _ in faults.planned]
    assert not unhandled, f"unhandled failures logged: {dict(unhandled)}"
    assert len(proofs) == DOSSIERS
    unproved: list[Proof] = [p for p in proofs if p.problems]
    assert unproved == [], f"{len(unproved)} dossiers failed their proof (see the lines above)"


async def settle(env: dict[str, str], dossiers: list[Driven], timeout_s: float = 300) -> str:
    """Wait until nothing is in flight: every notification of the run delivered, every outbox empty, and every
    consumer group caught up with its topics. Says what is still in flight if that does not come."""
    ids = [d.id for d in dossiers if d.id]
    deadline = time.monotonic() + timeout_s
    while True:
        async with connected(env, "notification") as conn:
            undelivered = await conn.fetchval(
                "SELECT count(*) FROM notifications WHERE dossier_id = ANY($1::uuid[]) AND status <> 'delivered'", ids
            )
        unpublished = 0
        for service in SERVICES:
            async with connected(env, service) as conn:
                unpublished += await conn.fetchval("SELECT count(*) FROM outbox WHERE state <> 'sent'")
        lag = sum([await lag_of(env["KAFKA_BOOTSTRAP_SERVERS"], group) for group in SUBSCRIPTIONS])
        in_flight = (f"{undelivered} notifications not delivered, {unpublished} events not published, "
                     f"consumer lag {lag}")  # fmt: skip
        if undelivered == unpublished == lag == 0 or time.monotonic() > deadline:
            return "" if undelivered == unpublished == lag == 0 else in_flight
        print(f"  {time.strftime('%H:%M:%S')} settling: {in_flight}", flush=True)
        await asyncio.sleep(5)


async def dead_letters_by_service(env: dict[str, str]) -> dict[str, int]:
    """Dead letters are for events no retry can apply: a fault must never make one."""
    found = {}
    for service in SERVICES:
        async with connected(env, service) as conn:
            found[service] = await conn.fetchval("SELECT count(*) FROM consumer_dead_letters")
    return found


@contextlib.asynccontextmanager
async def connected(env: dict[str, str], service: str) -> Any:
    conn = await asyncpg.connect(with_database(env["DATABASE_URL"], f"lienthong_{service}"))
    try:
        yield conn
    finally:
        await conn.close()


async def gather_records(
    http: httpx.AsyncClient, env: dict[str, str], stack: StackCommand, dossiers: list[Driven]
) -> dict[str, Record]:
    ids = {d.id for d in dossiers if d.id}
    streams = streams_of(await read_topics(env["KAFKA_BOOTSTRAP_SERVERS"], TOPICS), ids)
    async with connected(env, "notification") as conn:
        rows = await conn.fetch(
            "SELECT id, event_id, dossier_id, channel, status, uncertain_sends FROM notifications "
            "WHERE dossier_id = ANY($1::uuid[])",
            list(ids),
        )
    sms = (await http.get(env["SMS_GATEWAY_MESSAGES_URL"])).json()["counts"]
    email = {message_id.strip("<").split("@")[0]: n
             for message_id, n in (await http.get(env["SMTP_SINK_MESSAGES_URL"])).json()["counts"].items()}  # fmt: skip
    orders = (await http.get(env["CARRIER_MESSAGES_URL"])).json()
    justice = demo_token(stack, JUSTICE, "processing")
    slots = asyncio.Semaphore(8)

    async def record_of(dossier: Driven) -> Record:
        async with slots:
            tracking = f"{env['INTAKE_URL']}/public/tracking/{dossier.code}"
            tracked = await http.get(tracking, params={"secret": dossier.secret})
            routed = await http.get(f"{env['ROUTING_URL']}/processing/dossiers/{dossier.code}", headers=justice)
        orders_of_dossier = [o for o in orders if o["order_number"].startswith(f"{dossier.code}-")]
        return Record(
            streams={topic: s for (topic, dossier_id), s in streams.items() if dossier_id == dossier.id},
            tracking=tracked.json() if tracked.status_code == 200 else {},
            routing_status=routed.json()["status"] if routed.status_code == 200 else None,
            notifications=[dict(r) for r in rows if str(r["dossier_id"]) == dossier.id],
            sms_sends=sms,
            email_copies=email,
            carrier_creates={o["order_number"]: o["creates"] for o in orders_of_dossier},
        )

    driven = [d for d in dossiers if d.id]
    records = dict(zip([d.id for d in driven], await asyncio.gather(*map(record_of, driven)), strict=True))
    return records
