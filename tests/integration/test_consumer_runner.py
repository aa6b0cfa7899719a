"""The consumer runner against the real broker and database: dedup, parking on preconditions and gaps, dead
letters with blocked dossiers, replay and discard, tombstones, unknown types, committed offsets."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord
from prometheus_client import CollectorRegistry

from shared.consumer.runner import ConsumerRunner, Handler, Outcome
from shared.consumer.store import StoredRecord
from shared.db import Connection
from shared.events.envelope import Envelope
from shared.settings import KafkaSettings
from tests.support.messaging import consumer_database, create_topics, envelope, eventually, send, unique

STATE_TABLES = """
CREATE TABLE dossier_state (dossier_id text PRIMARY KEY, status int NOT NULL);
CREATE TABLE applied (position bigserial PRIMARY KEY, dossier_id text, seq bigint, event_type text);
CREATE TABLE failing (dossier_id text PRIMARY KEY);
CREATE TABLE contacts (dossier_id text PRIMARY KEY, phone text);
"""


async def record(conn: Connection, event: Envelope) -> None:
    await conn.execute(
        "INSERT INTO applied (dossier_id, seq, event_type) VALUES ($1, $2, $3)",
        event.dossierid, event.dossierseq, event.type,
    )  # fmt: skip


async def accepted(conn: Connection, event: Envelope) -> None:
    await record(conn, event)
    await conn.execute("INSERT INTO dossier_state VALUES ($1, 2)", event.dossierid)


async def is_accepted(conn: Connection, event: Envelope) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM dossier_state WHERE dossier_id = $1", event.dossierid))


async def result_ready(conn: Connection, event: Envelope) -> None:
    await record(conn, event)
    await conn.execute("UPDATE dossier_state SET status = 9 WHERE dossier_id = $1", event.dossierid)


async def step(conn: Connection, event: Envelope) -> None:
    if await conn.fetchval("SELECT 1 FROM failing WHERE dossier_id = $1", event.dossierid):
        raise RuntimeError("the handler has a bug for this dossier")
    await record(conn, event)


async def contact(conn: Connection, event: Envelope) -> None:
    assert event.data is not None
    await conn.execute("INSERT INTO contacts VALUES ($1, $2)", event.dossierid, event.data["phone"])


async def erase(conn: Connection, dossier_id: str) -> None:
    await conn.execute("DELETE FROM contacts WHERE dossier_id = $1", dossier_id)


@dataclass
class Rig:
    runner: ConsumerRunner
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    intake: str
    routing: str

    async def applied(self, dossier_id: str) -> list[tuple[str, int]]:
        rows = await self.pool.fetch(
            "SELECT event_type, seq FROM applied WHERE dossier_id = $1 ORDER BY position", dossier_id
        )
        return [(row["event_type"], row["seq"]) for row in rows]

    async def count(self, sql: str, *args: object) -> int:
        return int(await self.pool.fetchval(sql, *args))


@pytest.fixture
async def rig(fresh_database: str, kafka_settings: KafkaSettings) -> AsyncIterator[Rig]:
    await consumer_database(fresh_database)
    group = unique("test-group")
    intake, routing = unique("test-intake"), unique("test-routing")
    await create_topics(kafka_settings, intake, routing, f"{group}.dlq")
    pool = await asyncpg.create_pool(fresh_database, min_size=1, max_size=4)
    await pool.execute(STATE_TABLES)
    runner = ConsumerRunner(
        group=group,
        topics=[intake, routing],
        handlers={
            "test.accepted": Handler(accepted),
            "test.result-ready": Handler(result_ready, ready=is_accepted),
            "test.step": Handler(step),
            "contact.recorded": Handler(contact),
        },
        pool=pool,
        kafka=kafka_settings,
        registry=CollectorRegistry(),
        is_known_type=lambda t: t.startswith(("test.", "contact.")),
        on_tombstone=erase,
        retry_delays_s=(0.01, 0.02),
        session_timeout_ms=6000,
    )
    task = asyncio.create_task(runner.run())
    producer = AIOKafkaProducer(**kafka_settings.client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        yield Rig(runner, pool, producer, intake, routing)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()
        await pool.close()


def dossier() -> str:
    return str(uuid.uuid4())


async def test_an_early_event_is_parked_until_its_precondition_is_met(rig: Rig) -> None:
    d = dossier()
    await send(rig.producer, rig.routing, envelope("test.result-ready", d, 1))
    await eventually(lambda: _parked(rig, d, "precondition"), what="result-ready parked")
    assert await rig.applied(d) == []
    await send(rig.producer, rig.intake, envelope("test.accepted", d, 1))
    await eventually(lambda: _applied_count(rig, d, 2), what="both applied")
    assert await rig.applied(d) == [("test.accepted", 1), ("test.result-ready", 1)]
    assert await rig.count("SELECT status FROM dossier_state WHERE dossier_id = $1", d) == 9
    assert await rig.count("SELECT count(*) FROM consumer_parked WHERE dossier_id = $1", d) == 0


async def test_a_gap_is_parked_and_filled_in_order_and_duplicates_are_skipped(rig: Rig) -> None:
    d = dossier()
    events = [envelope("test.step", d, seq) for seq in (1, 2, 3, 4)]
    for event in (events[0], events[2], events[3], events[0]):
        await send(rig.producer, rig.intake, event)
    await eventually(lambda: _parked(rig, d, "gap", count=2), what="3 and 4 parked behind the gap")
    await send(rig.producer, rig.intake, events[1])
    await send(rig.producer, rig.intake, events[2])  # a repeat on the topic, as a relay that died would send it
    await eventually(lambda: _applied_count(rig, d, 4), what="all four applied")
    await asyncio.sleep(0.5)
    assert await rig.applied(d) == [("test.step", seq) for seq in (1, 2, 3, 4)]


async def test_a_failing_handler_dead_letters_blocks_the_dossier_and_a_replay_releases_it(rig: Rig) -> None:
    broken, healthy = dossier(), dossier()
    await rig.pool.execute("INSERT INTO failing VALUES ($1)", broken)
    for seq in (1, 2, 3):
        await send(rig.producer, rig.intake, envelope("test.step", broken, seq))
        await send(rig.producer, rig.intake, envelope("test.step", healthy, seq))
    await eventually(lambda: _applied_count(rig, healthy, 3), what="the healthy dossier applied")
    await eventually(lambda: _parked(rig, broken, "blocked", count=2), what="the broken dossier's later events parked")
    dead = await rig.pool.fetchrow(
        "SELECT id, error, attempts FROM consumer_dead_letters WHERE dossier_id = $1", broken
    )
    assert dead is not None
    assert "the handler has a bug" in dead["error"]
    assert dead["attempts"] == 3
    assert await rig.count("SELECT count(*) FROM consumer_blocked WHERE dossier_id = $1", broken) == 1

    dlq = await _read_all(rig, f"{rig.runner.group}.dlq")
    (letter,) = [r for r in dlq if r.key == broken.encode()]
    headers = dict(letter.headers)
    assert b"the handler has a bug" in headers["dlq_error"]
    assert headers["dlq_attempts"] == b"3"
    assert headers["dlq_topic"] == rig.intake.encode()
    assert headers["ce_dossierseq"] == b"1"

    await rig.pool.execute("DELETE FROM failing WHERE dossier_id = $1", broken)  # the fix
    assert await rig.runner.replay(dead["id"]) is Outcome.APPLIED
    assert await rig.applied(broken) == [("test.step", 1), ("test.step", 2), ("test.step", 3)]
    assert await rig.count("SELECT count(*) FROM consumer_blocked") == 0
    assert await rig.count("SELECT count(*) FROM consumer_parked WHERE dossier_id = $1", broken) == 0


def polled(topic: str, *events: Envelope) -> list[StoredRecord]:
    """The events as one poll of the broker hands them to the runner."""
    return [
        StoredRecord(topic, 0, offset, event.key(), tuple(event.headers()), event.value())
        for offset, event in enumerate(events)
    ]


async def transactions_of(rig: Rig, *dossier_ids: str) -> int:
    """How many transactions wrote these dossiers' applied rows (each row's xmin is the one that inserted it)."""
    return await rig.count("SELECT count(DISTINCT xmin::text) FROM applied WHERE dossier_id = ANY($1)", dossier_ids)


async def test_the_records_of_one_poll_are_applied_in_one_transaction(rig: Rig) -> None:
    first, second, third = dossier(), dossier(), dossier()
    records = polled(
        rig.intake,
        envelope("test.step", first, 1), envelope("test.step", second, 1), envelope("test.step", first, 2),
        envelope("someone.elses-event", second, 2),  # ignored, but it moves the sequence on
        envelope("test.step", second, 3), envelope("test.step", third, 2), envelope("test.step", third, 1),
    )  # fmt: skip
    outcomes = await rig.runner.handle_records(records)
    assert outcomes == [Outcome.APPLIED] * 5 + [Outcome.PARKED, Outcome.APPLIED]
    assert await rig.applied(first) == [("test.step", 1), ("test.step", 2)]
    assert await rig.applied(second) == [("test.step", 1), ("test.step", 3)]
    assert await rig.applied(third) == [("test.step", 1), ("test.step", 2)]  # the gap filled, then released
    assert await transactions_of(rig, first, second) == 1
    assert await rig.runner.handle_records(records[:3]) == [Outcome.DUPLICATE] * 3


async def test_a_failing_record_sends_each_record_of_its_poll_on_its_own(rig: Rig) -> None:
    healthy, broken = dossier(), dossier()
    await rig.pool.execute("INSERT INTO failing VALUES ($1)", broken)
    records = polled(
        rig.intake,
        envelope("test.step", healthy, 1), envelope("test.step", broken, 1),
        envelope("test.step", healthy, 2), envelope("test.step", broken, 2),
    )  # fmt: skip
    outcomes = await rig.runner.handle_records(records)
    assert outcomes == [Outcome.APPLIED, Outcome.DEAD_LETTERED, Outcome.APPLIED, Outcome.PARKED]
    assert await rig.applied(healthy) == [("test.step", 1), ("test.step", 2)]
    assert await transactions_of(rig, healthy) == 2
    assert await rig.applied(broken) == []
    assert await rig.count("SELECT count(*) FROM consumer_blocked WHERE dossier_id = $1", broken) == 1


async def test_a_malformed_record_dead_letters_and_discarding_it_releases_the_dossier(rig: Rig) -> None:
    d = dossier()
    await rig.producer.send_and_wait(rig.intake, b"{not json", key=d.encode(), headers=[("ce_type", b"test.step")])
    await eventually(lambda: _dead_letters(rig, d), what="the malformed record dead-lettered")
    await send(rig.producer, rig.intake, envelope("test.step", d, 1))
    await eventually(lambda: _parked(rig, d, "blocked"), what="the next event parked behind the block")
    dead = await rig.pool.fetchrow("SELECT id, error FROM consumer_dead_letters WHERE dossier_id = $1", d)
    assert dead is not None
    assert "malformed event: missing CloudEvents attributes" in dead["error"]
    with pytest.raises(Exception, match="discard it instead"):
        await rig.runner.replay(dead["id"])
    await rig.runner.discard(dead["id"])
    assert await rig.applied(d) == [("test.step", 1)]


async def test_unknown_types_are_skipped_but_keep_the_sequence(rig: Rig) -> None:
    d = dossier()
    await send(rig.producer, rig.intake, envelope("someone.elses-event", d, 1))
    await send(rig.producer, rig.intake, envelope("test.step", d, 2))
    await eventually(lambda: _applied_count(rig, d, 1), what="the known event applied")
    assert rig.runner.metrics.unknown._value.get() >= 1
    assert await rig.applied(d) == [("test.step", 2)]


async def test_a_tombstone_erases_the_consumer_s_copy(rig: Rig) -> None:
    d = dossier()
    await send(rig.producer, rig.intake, envelope("contact.recorded", d, 1, {"phone": "0901234567"}))
    await eventually(lambda: _has_contact(rig, d, True), what="contact stored")
    erased = envelope("contact.erased", d, 2)
    await rig.producer.send_and_wait(rig.intake, None, key=erased.key(), headers=erased.headers())
    await eventually(lambda: _has_contact(rig, d, False), what="contact erased")


async def test_offsets_are_committed_after_processing(rig: Rig, kafka_settings: KafkaSettings) -> None:
    d = dossier()
    for seq in range(1, 6):
        await send(rig.producer, rig.intake, envelope("test.step", d, seq))
    await eventually(lambda: _applied_count(rig, d, 5), what="applied")
    consumer = AIOKafkaConsumer(**kafka_settings.client_options(), group_id=rig.runner.group)
    await consumer.start()
    try:
        partitions = [TopicPartition(rig.intake, p) for p in range(3)]
        ends = await consumer.end_offsets(partitions)

        async def committed_to_end() -> bool:
            committed = [await consumer.committed(tp) or 0 for tp in partitions]
            return committed == [ends[tp] for tp in partitions]

        await eventually(committed_to_end, what="offsets committed to the end")
    finally:
        await consumer.stop()


async def _parked(rig: Rig, dossier_id: str, reason: str, count: int = 1) -> bool:
    return (
        await rig.count(
            "SELECT count(*) FROM consumer_parked WHERE dossier_id = $1 AND reason = $2", dossier_id, reason
        )
        == count
    )


async def _applied_count(rig: Rig, dossier_id: str, count: int) -> bool:
    return await rig.count("SELECT count(*) FROM applied WHERE dossier_id = $1", dossier_id) == count


async def _dead_letters(rig: Rig, dossier_id: str) -> bool:
    return await rig.count("SELECT count(*) FROM consumer_dead_letters WHERE dossier_id = $1", dossier_id) > 0


async def _has_contact(rig: Rig, dossier_id: str, present: bool) -> bool:
    return (await rig.count("SELECT count(*) FROM contacts WHERE dossier_id = $1", dossier_id) == 1) is present


async def _read_all(rig: Rig, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic, **rig.runner.kafka.client_options(), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=3000)
        return [record for records in batches.values() for record in records]
    finally:
        await consumer.stop()
