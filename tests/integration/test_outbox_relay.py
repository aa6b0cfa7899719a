"""The outbox and its relay against the real broker and database: written in the caller's transaction,
published in per-dossier order by relays that share the shards and through a failure worth retrying, failed rows
blocking only their dossier."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import LeaderNotAvailableError
from prometheus_client import CollectorRegistry

from shared.events.envelope import Envelope
from shared.outbox import NOTIFY_CHANNEL, SHARDS
from shared.outbox.relay import Relay, relay_producer_options
from shared.outbox.writer import Outbox
from shared.settings import KafkaSettings
from tests.support.messaging import create_topics, eventually, outbox_database, unique


@dataclass
class OutboxRig:
    dsn: str
    pool: asyncpg.Pool
    kafka: KafkaSettings
    topic: str
    outbox: Outbox

    async def write(self, dossier_id: str, n: int, payload: Callable[[int], str] = str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            for i in range(n):
                await self.outbox.add_raw(
                    conn, event_type="test.step", version=1, data={"n": i, "payload": payload(i)},
                    topic=self.topic, dossier_id=dossier_id, dossier_code="TEST",
                )  # fmt: skip

    async def write_then_roll_back(self, dossier_id: str) -> None:
        """An event written by a state change that then fails."""
        with contextlib.suppress(RuntimeError):
            async with self.pool.acquire() as conn, conn.transaction():
                await self.outbox.add_raw(
                    conn, event_type="test.step", version=1, data={}, topic=self.topic, dossier_id=dossier_id,
                    dossier_code="TEST",
                )  # fmt: skip
                raise RuntimeError("the state change failed")

    def relay(self, registry: CollectorRegistry | None = None) -> Relay:
        return Relay(self.dsn, self.kafka, registry or CollectorRegistry(), poll_interval_s=0.2)

    async def read(self, expected: int, timeout_s: float = 30) -> list[Envelope]:
        consumer = AIOKafkaConsumer(
            self.topic, **self.kafka.client_options(), auto_offset_reset="earliest", enable_auto_commit=False
        )
        await consumer.start()
        events: list[Envelope] = []
        try:
            async with asyncio.timeout(timeout_s):
                while len(events) < expected:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        events += [Envelope.from_record(r.key, r.value, r.headers) for r in records]
        finally:
            await consumer.stop()
        return events


@pytest.fixture
async def rig(fresh_database: str, kafka_settings: KafkaSettings) -> AsyncIterator[OutboxRig]:
    await outbox_database(fresh_database)
    topic = unique("test-outbox")
    await create_topics(kafka_settings, topic, partitions=12)
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=4)
    try:
        yield OutboxRig(fresh_database, pool, kafka_settings, topic, Outbox("intake"))
    finally:
        await pool.close()


async def run_relays(*relays: Relay) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(relay.run()) for relay in relays]


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def by_dossier(events: list[Envelope]) -> dict[str, list[int]]:
    sequences: dict[str, list[int]] = defaultdict(list)
    for event in events:
        sequences[event.dossierid].append(event.dossierseq)
    return sequences


async def test_events_are_published_in_dossier_order_as_cloudevents(rig: OutboxRig) -> None:
    dossiers = [str(uuid.uuid4()) for _ in range(20)]
    for d in dossiers:
        await rig.write(d, 5)
    registry = CollectorRegistry()
    tasks = await run_relays(rig.relay(registry))
    try:
        events = await rig.read(100)
        await eventually(lambda: _backlog_is(registry, 0), what="backlog drained")
    finally:
        await stop(tasks)
    assert by_dossier(events) == {d: [1, 2, 3, 4, 5] for d in dossiers}
    first = events[0]
    assert first.source == "/lienthong/intake"
    assert first.type == "test.step"
    assert first.dataschema == "urn:lienthong:schema:test.step:v1"
    assert first.subject == "TEST"
    assert registry.get_sample_value("lienthong_events_published_total", {"type": "test.step"}) == 100


async def test_a_rolled_back_transaction_publishes_nothing(rig: OutboxRig) -> None:
    rolled_back, kept = str(uuid.uuid4()), str(uuid.uuid4())
    await rig.write_then_roll_back(rolled_back)
    await rig.write(kept, 1)
    tasks = await run_relays(rig.relay())
    try:
        events = await rig.read(1)
        await asyncio.sleep(1)
    finally:
        await stop(tasks)
    assert [e.dossierid for e in events] == [kept]
    assert await rig.pool.fetchval("SELECT count(*) FROM outbox WHERE dossier_id = $1", rolled_back) == 0


async def test_a_commit_wakes_the_relays_once_and_a_rollback_does_not(rig: OutboxRig) -> None:
    woken: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(rig.dsn)
    await listener.add_listener(NOTIFY_CHANNEL, lambda _conn, _pid, channel, _payload: woken.put_nowait(channel))
    try:
        await rig.write_then_roll_back(str(uuid.uuid4()))
        await rig.write(str(uuid.uuid4()), 3)
        assert await asyncio.wait_for(woken.get(), timeout=5) == NOTIFY_CHANNEL
        await asyncio.sleep(0.5)
        assert woken.empty(), "one wake-up for the committed transaction, none for the rolled-back one"
    finally:
        await listener.close()


async def test_a_row_too_large_fails_and_blocks_only_its_dossier(rig: OutboxRig) -> None:
    blocked, healthy = str(uuid.uuid4()), str(uuid.uuid4())
    await rig.write(blocked, 3, payload=lambda i: "x" * 2_000_000 if i == 1 else "small")
    await rig.write(healthy, 3)
    registry = CollectorRegistry()
    tasks = await run_relays(rig.relay(registry))
    try:
        events = await rig.read(4)
        await eventually(lambda: _gauge_is(registry, "lienthong_outbox_blocked_dossiers", 1), what="blocked shown")
    finally:
        await stop(tasks)
    assert by_dossier(events) == {blocked: [1], healthy: [1, 2, 3]}
    states = await rig.pool.fetch("SELECT state FROM outbox WHERE dossier_id = $1 ORDER BY position", blocked)
    assert [row["state"] for row in states] == ["sent", "failed", "pending"]
    assert registry.get_sample_value("lienthong_outbox_failed") == 1
    assert registry.get_sample_value("lienthong_outbox_backlog") == 1


class LeaderLostOnce(AIOKafkaProducer):  # type: ignore[misc]  # aiokafka has no type hints
    """The relay's producer on the real broker, except that the next record of each dossier in `unlucky` fails as
    it does while a broker restarts and its partition has no leader yet: a failure worth retrying."""

    def __init__(self, unlucky: set[str], **options: Any) -> None:
        super().__init__(**options)
        self.unlucky = unlucky

    async def send(self, topic: str, value: Any = None, key: Any = None, *args: Any, **kwargs: Any) -> Any:
        if key is not None and key.decode() in self.unlucky:
            self.unlucky.discard(key.decode())
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(LeaderNotAvailableError())
            return failed
        return await super().send(topic, value, key, *args, **kwargs)


async def test_a_row_that_fails_for_a_moment_is_not_overtaken_by_its_dossiers_later_rows(rig: OutboxRig) -> None:
    unlucky, other = str(uuid.uuid4()), str(uuid.uuid4())
    await rig.write(unlucky, 3)
    await rig.write(other, 3)
    failing = {unlucky}
    relay = rig.relay()
    relay.make_producer = lambda kafka: LeaderLostOnce(failing, **relay_producer_options(kafka))
    tasks = await run_relays(relay)
    try:
        events = await rig.read(6)
    finally:
        await stop(tasks)
    assert not failing, "the unlucky dossier's first record failed once"
    assert by_dossier(events) == {unlucky: [1, 2, 3], other: [1, 2, 3]}, "in order on the topic, nothing repeated"


async def test_two_relays_share_the_shards_and_keep_dossier_order(rig: OutboxRig) -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    tasks = await run_relays(rig.relay(first), rig.relay(second))
    try:

        async def shared_fairly() -> bool:
            owned = [r.get_sample_value("lienthong_outbox_shards_owned") for r in (first, second)]
            return owned == [SHARDS / 2, SHARDS / 2]

        await eventually(shared_fairly, what="shards split between the two relays")
        dossiers = [str(uuid.uuid4()) for _ in range(40)]
        for _ in range(5):
            for d in dossiers:
                await rig.write(d, 1)
        events = await rig.read(200)
    finally:
        await stop(tasks)
    assert by_dossier(events) == {d: [1, 2, 3, 4, 5] for d in dossiers}
    published = [r.get_sample_value("lienthong_events_published_total", {"type": "test.step"}) for r in (first, second)]
    assert all(count and count > 0 for count in published)


async def _backlog_is(registry: CollectorRegistry, value: float) -> bool:
    return registry.get_sample_value("lienthong_outbox_backlog") == value


async def _gauge_is(registry: CollectorRegistry, name: str, value: float) -> bool:
    return registry.get_sample_value(name) == value
