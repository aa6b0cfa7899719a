"""Building blocks for tests of the messaging core: databases with the outbox or consumer tables, test topics,
raw CloudEvents records, and waiting for a condition."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.consumer import CONSUMER_MIGRATIONS
from shared.db import MigrationSource, apply_migrations
from shared.events.envelope import Envelope, dataschema_of, source_of
from shared.outbox import OUTBOX_MIGRATIONS
from shared.settings import KafkaSettings


async def migrate(dsn: str, *sources: MigrationSource) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await apply_migrations(conn, list(sources))
    finally:
        await conn.close()


async def outbox_database(dsn: str) -> None:
    await migrate(dsn, OUTBOX_MIGRATIONS)


async def consumer_database(dsn: str) -> None:
    await migrate(dsn, CONSUMER_MIGRATIONS)


async def create_topics(kafka: KafkaSettings, *names: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names])
    finally:
        await admin.close()


def unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}"


def envelope(
    event_type: str, dossier_id: str, seq: int, data: dict[str, Any] | None = None, subject: str | None = None
) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source=source_of("test"),
        type=event_type,
        time=datetime.now(UTC),
        subject=subject or f"TEST-{dossier_id[:6]}",
        dataschema=dataschema_of(event_type, 1),
        dossierid=dossier_id,
        dossierseq=seq,
        data={} if data is None else data,
    )


async def send(producer: AIOKafkaProducer, topic: str, event: Envelope) -> None:
    await producer.send_and_wait(topic, event.value(), key=event.key(), headers=event.headers())


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout_s} s")
