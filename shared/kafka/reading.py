"""Reading topics as an observer: every partition assigned, no consumer group, nothing committed. What the
operators' command (`lienthong tail`, `timeline`, `topics describe`) and the tests' checks of the topics use, so
that looking at a topic never moves a service's offsets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import ConsumerRecord

from shared.settings import KafkaSettings


class BrokerUnreachableError(RuntimeError):
    """The broker did not answer: said with its address, so that the operator knows which stack is meant."""


class UnknownTopicError(ValueError):
    pass


@dataclass(frozen=True)
class StartAt:
    """Where reading starts in each partition: the beginning, the end (only what comes from now), an offset (the
    same number in every partition, clamped to what the partition holds), or the first record at or after a time."""

    kind: Literal["beginning", "end", "offset", "time"]
    offset: int = 0
    time: datetime | None = None


BEGINNING, END = StartAt("beginning"), StartAt("end")


@contextlib.asynccontextmanager
async def observer(kafka: KafkaSettings) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer of no group, stopped on exit."""
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False, auto_offset_reset="earliest")
    async with _started(kafka, consumer.start, consumer.stop):
        yield consumer


@contextlib.asynccontextmanager
async def administrator(kafka: KafkaSettings) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client (group offsets, topic configuration), closed on exit."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    async with _started(kafka, admin.start, admin.close):
        yield admin


@contextlib.asynccontextmanager
async def _started(
    kafka: KafkaSettings, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]
) -> AsyncIterator[None]:
    try:
        await start()
    except KafkaConnectionError as error:
        with contextlib.suppress(Exception):
            await stop()
        raise BrokerUnreachableError(
            f"no Kafka broker answers at {kafka.bootstrap_servers} ({error}): `make up` starts the local one, "
            "KAFKA_BOOTSTRAP_SERVERS says where another is"
        ) from error
    try:
        yield
    finally:
        await stop()


async def partitions_of(kafka: KafkaSettings, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the topics, as the broker has them (a topic's count is fixed for its life)."""
    wanted = list(topics)
    async with administrator(kafka) as admin:
        described = {topic["topic"]: topic for topic in await admin.describe_topics(wanted)}
    partitions = []
    for topic in wanted:
        numbers = sorted(p["partition"] for p in described[topic]["partitions"]) if topic in described else []
        if not numbers:
            raise UnknownTopicError(f"the broker has no topic {topic} (`lienthong topics ensure` creates ours)")
        partitions += [TopicPartition(topic, number) for number in numbers]
    return partitions


async def assign_from(consumer: AIOKafkaConsumer, partitions: list[TopicPartition], start: StartAt) -> None:
    consumer.assign(partitions)
    if start.kind == "beginning":
        await consumer.seek_to_beginning(*partitions)
    elif start.kind == "end":
        await consumer.seek_to_end(*partitions)
    elif start.kind == "offset":
        # Seeking past either edge would make the consumer reset to the beginning: clamp instead.
        first, end = await consumer.beginning_offsets(partitions), await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, min(max(start.offset, first[tp]), end[tp]))
    else:
        assert start.time is not None
        found = await consumer.offsets_for_times({tp: int(start.time.timestamp() * 1000) for tp in partitions})
        end = await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, found[tp].offset if found.get(tp) is not None else end[tp])


async def read_to_end(
    kafka: KafkaSettings, topics: Iterable[str], start: StartAt = BEGINNING, timeout_s: float = 120
) -> list[ConsumerRecord]:
    """Every record of the topics from `start` up to the end offsets taken when the read starts, in offset order per
    partition. Reading to the end offsets, not to an expected count, makes a loss show up as a gap, not a wait."""
    found: list[ConsumerRecord] = []
    async with observer(kafka) as consumer:
        partitions = await partitions_of(kafka, topics)
        await assign_from(consumer, partitions, start)
        end = await consumer.end_offsets(partitions)
        async with asyncio.timeout(timeout_s):
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                for tp, records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).items():
                    found += [record for record in records if record.offset < end[tp]]
    return found


async def follow(
    kafka: KafkaSettings, topics: Iterable[str], start: StartAt = END, on_ready: Callable[[], None] | None = None
) -> AsyncIterator[ConsumerRecord]:
    """The records of the topics from `start` on, as they come, until the caller stops iterating. `on_ready` is
    called once every partition has its starting position: what is published from then on will be seen."""
    async with observer(kafka) as consumer:
        partitions = await partitions_of(kafka, topics)
        await assign_from(consumer, partitions, start)
        for tp in partitions:
            await consumer.position(tp)  # resolves a seek to the end now, not at the first fetch
        if on_ready is not None:
            on_ready()
        while True:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    yield record
