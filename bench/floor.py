"""The floor: the same machine in the same run with no service in the way — bare asyncpg transactions and Kafka
produce and consume round trips — and how many of each a dossier took in the pipeline, counted from the database's
and the broker's own statistics (pg_stat_database's commits and rollbacks, the topics' end offsets).

    floor_per_s = 1 / (transactions / transactions_per_s + produced / produced_per_s + consumed / consumed_per_s)

with the counts per dossier and the rates of the bare round trips: each rate is measured with the whole machine to
itself, and on a machine whose cores the database, the broker and the clients share, the times add up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import NewTopic

from deploy.local.settings import SERVICES
from shared.db import drop_database, ensure_database
from shared.events.catalogue import CATALOGUE, SUBSCRIPTIONS
from shared.events.examples import example_envelope
from shared.kafka.lag import group_lags
from shared.kafka.reading import administrator, observer, partitions_of
from shared.kafka.topics import load_topics
from shared.outbox.relay import relay_producer
from shared.settings import KafkaSettings, with_database

FLOOR_DATABASE = "bench_floor"  # not lienthong_*: its transactions must not count as the pipeline's
FLOOR_TOPIC = "bench.floor"
FLOOR_PARTITIONS = 12  # as the lifecycle topics
IN_FLIGHT = 500  # produce requests awaited together, as the relay awaits a shard's batch


def readers_of(topic: str) -> int:
    """How many consumer groups read each record of the topic."""
    return sum(topic in topics for topics in SUBSCRIPTIONS.values())


@dataclass(frozen=True)
class Counters:
    """The pipeline's statistics at one instant."""

    at: float  # time.monotonic()
    transactions: Mapping[str, float]  # committed and rolled back, per service database
    produced: Mapping[str, int]  # records per topic (their end offsets, summed over partitions)
    cpu_s: Mapping[str, float]  # CPU time used so far, per process of the stack (and the bench's driver)


async def read_counters(database_url: str, kafka: KafkaSettings, cpu_s: Mapping[str, float]) -> Counters:
    """The database's and the broker's statistics now, with `cpu_s` read by the caller at the same moment."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT datname, xact_commit + xact_rollback AS transactions FROM pg_stat_database WHERE datname = ANY($1)",
            [f"lienthong_{service}" for service in SERVICES],
        )
    finally:
        await conn.close()
    transactions = {row["datname"].removeprefix("lienthong_"): row["transactions"] for row in rows}
    topics = load_topics().names()
    async with observer(kafka) as consumer:
        ends = await consumer.end_offsets(await partitions_of(kafka, topics))
    produced = {topic: sum(end for tp, end in ends.items() if tp.topic == topic) for topic in topics}
    return Counters(time.monotonic(), transactions, produced, cpu_s)


@dataclass(frozen=True)
class PerDossier:
    """What one dossier took in the pipeline: round trips, and CPU time per process."""

    transactions_by_service: Mapping[str, float]
    produced: float  # records published
    consumed: float  # records read and applied by a consumer group (each group reads each record of its topics)
    cpu_ms: Mapping[str, float]

    @property
    def transactions(self) -> float:
        return sum(self.transactions_by_service.values())


def per_dossier(idle: tuple[Counters, Counters], run: tuple[Counters, Counters], dossiers: int) -> PerDossier:
    """The run's deltas per dossier, less what an idle stack does anyway in that time (the relays' and the
    schedulers' polling, measured over `idle`)."""
    (idle_from, idle_to), (run_from, run_to) = idle, run

    def busy(read: Callable[[Counters], Mapping[str, float]]) -> dict[str, float]:
        made = {}
        for name, end in read(run_to).items():
            idle_rate = (read(idle_to)[name] - read(idle_from)[name]) / (idle_to.at - idle_from.at)
            made[name] = max(end - read(run_from)[name] - idle_rate * (run_to.at - run_from.at), 0) / dossiers
        return made

    produced = {topic: end - run_from.produced.get(topic, 0) for topic, end in run_to.produced.items()}
    consumed = sum(count * readers_of(topic) for topic, count in produced.items())
    cpu_ms = {name: seconds * 1000 for name, seconds in busy(lambda c: c.cpu_s).items()}
    return PerDossier(busy(lambda c: c.transactions), sum(produced.values()) / dossiers, consumed / dossiers, cpu_ms)


@dataclass(frozen=True)
class FloorRates:
    """Bare round trips per second on this machine."""

    transactions_per_s: float
    produced_per_s: float
    consumed_per_s: float


def floor_per_s(per: PerDossier, rates: FloorRates) -> float:
    seconds = (per.transactions / rates.transactions_per_s + per.produced / rates.produced_per_s
               + per.consumed / rates.consumed_per_s)  # fmt: skip
    return 1 / seconds if seconds > 0 else 0.0


async def measure_floor(database_url: str, kafka: KafkaSettings, duration_s: float, concurrency: int) -> FloorRates:
    transactions_per_s = await _bare_transactions(database_url, duration_s, concurrency)
    async with _scratch_topic(kafka):
        produced, produced_per_s = await _bare_produce(kafka, duration_s)
        consumed_per_s = await _bare_consume(kafka, produced)
    return FloorRates(transactions_per_s, produced_per_s, consumed_per_s)


# A record the size and shape of a lifecycle event, serialised once: the floor measures the round trips alone.
SAMPLE = example_envelope(CATALOGUE["dossier.accepted"])
SAMPLE_HEADERS, SAMPLE_VALUE = SAMPLE.headers(), SAMPLE.value() or b""


async def _bare_transactions(database_url: str, duration_s: float, concurrency: int) -> float:
    """Short write transactions (one row the size of an outbox row, committed) from `concurrency` connections."""
    dsn = with_database(database_url, FLOOR_DATABASE)
    await ensure_database(dsn)
    try:
        pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
        assert pool is not None
        async with pool:
            await pool.execute("CREATE TABLE IF NOT EXISTS floor_rows (id uuid PRIMARY KEY, dossier_id text, "
                               "headers text, value bytea, written_at timestamptz DEFAULT now())")  # fmt: skip
            headers = json.dumps([[name, raw.decode()] for name, raw in SAMPLE_HEADERS])
            deadline = time.monotonic() + duration_s

            async def writer() -> int:
                done = 0
                async with pool.acquire() as conn:
                    while time.monotonic() < deadline:
                        async with conn.transaction():
                            await conn.execute("INSERT INTO floor_rows (id, dossier_id, headers, value) "
                                               "VALUES ($1, $2, $3, $4)", uuid.uuid4(), SAMPLE.dossierid, headers,
                                               SAMPLE_VALUE)  # fmt: skip
                        done += 1
                return done

            started = time.monotonic()
            done = sum(await asyncio.gather(*(writer() for _ in range(concurrency))))
            return done / (time.monotonic() - started)
    finally:
        await drop_database(dsn)


@contextlib.asynccontextmanager
async def _scratch_topic(kafka: KafkaSettings) -> AsyncIterator[None]:
    """The floor's topic, created for the measurement and deleted after it."""
    async with administrator(kafka) as admin:
        if FLOOR_TOPIC in await admin.list_topics():
            await admin.delete_topics([FLOOR_TOPIC])
            await asyncio.sleep(1)  # the broker forgets a deleted topic asynchronously
        await admin.create_topics([NewTopic(FLOOR_TOPIC, FLOOR_PARTITIONS, 1)])
    try:
        yield
    finally:
        async with administrator(kafka) as admin:
            await admin.delete_topics([FLOOR_TOPIC])


async def _bare_produce(kafka: KafkaSettings, duration_s: float) -> tuple[int, float]:
    """Records acknowledged per second by the relay's producer (idempotent, acks=all, linger 5 ms), `IN_FLIGHT` at
    a time, each keyed by a new dossier id like the pipeline's."""
    producer = relay_producer(kafka)
    await producer.start()
    try:
        produced = 0
        started = time.monotonic()
        while time.monotonic() - started < duration_s:
            sends = [await producer.send(FLOOR_TOPIC, SAMPLE_VALUE, key=str(uuid.uuid4()).encode(),
                                         headers=SAMPLE_HEADERS) for _ in range(IN_FLIGHT)]  # fmt: skip
            await asyncio.gather(*sends)
            produced += len(sends)
        return produced, produced / (time.monotonic() - started)
    finally:
        await producer.stop()


async def _bare_consume(kafka: KafkaSettings, records: int) -> float:
    """Records read per second by a consumer group as the services' runners read (manual commit after each batch
    of up to 500), timed from the first batch: the group's join is no round trip of the pipeline's."""
    group = f"bench.floor.{uuid.uuid4().hex}"
    consumer = AIOKafkaConsumer(FLOOR_TOPIC, **kafka.client_options(), group_id=group, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_records=500)  # fmt: skip
    await consumer.start()
    try:
        consumed, started = 0, 0.0
        while consumed < records:
            batches = await consumer.getmany(timeout_ms=1000)
            if batches and not started:
                started = time.monotonic()
            consumed += sum(len(batch) for batch in batches.values())
            if batches:
                await consumer.commit()
        return consumed / (time.monotonic() - started)
    finally:
        await consumer.stop()


async def settled(database_url: str, kafka: KafkaSettings, timeout_s: float) -> str:
    """Wait until nothing is in flight: every outbox published and every group caught up. Says what is still in
    flight if that does not come within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        unpublished = 0
        for service in SERVICES:
            conn = await asyncpg.connect(with_database(database_url, f"lienthong_{service}"))
            try:
                unpublished += await conn.fetchval("SELECT count(*) FROM outbox WHERE state = 'pending'")
            finally:
                await conn.close()
        lags = await group_lags(kafka, {group: list(topics) for group, topics in SUBSCRIPTIONS.items()})
        lag = sum(partition.lag for partition in lags)
        if unpublished == lag == 0:
            return ""
        if time.monotonic() > deadline:
            return f"{unpublished} events not published, consumer lag {lag}"
        await asyncio.sleep(2)
