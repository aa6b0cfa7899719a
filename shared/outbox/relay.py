"""The outbox relay: publishes pending rows with the idempotent producer (acks=all) and marks them sent.

Order: rows are spread over SHARDS shards by dossier id; a relay publishes a shard only while it holds that
shard's PostgreSQL advisory lock (session-level, so a relay that dies frees its shards with its connection),
and always in `position` order, one row of a dossier in flight at a time (a batch goes out in waves). Several
relays split the shards fairly: each heartbeats into `outbox_relays` and holds at most ceil(SHARDS / live
relays). Row-level claiming would let two relays publish one dossier's events concurrently, out of order.

Wake-up: LISTEN on the channel the writer NOTIFYs on commit, with a polling fallback for missed
notifications (a relay restarting, a dropped listener connection).

A row that can never be published (too large, rejected by the broker) becomes `failed`; its dossier's later
rows wait behind it (the dossier is blocked, visibly, in metrics), other dossiers go on. A broker outage only
grows the backlog: rows stay pending and are retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidTopicError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    TopicAuthorizationFailedError,
    UnsupportedForMessageFormatError,
)
from prometheus_client import CollectorRegistry, Counter, Gauge

from shared.db import DATABASE_ERRORS, create_pool
from shared.outbox import NOTIFY_CHANNEL, SHARDS
from shared.retry import keep_running
from shared.settings import KafkaSettings

log = structlog.get_logger(__name__)

LOCK_NAMESPACE = 0x6F757462  # "outb": advisory locks (namespace, shard)
RELAY_ALIVE_S = 10
HEARTBEAT_S = 2  # how often a relay says it is alive and rebalances shards: well within RELAY_ALIVE_S
MAX_REQUEST_BYTES = 1_048_576  # the producer's max_request_size, checked before sending
# Errors that no retry will cure: the row fails, its dossier is blocked until an operator acts.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    InvalidTopicError,
    TopicAuthorizationFailedError,
    UnsupportedForMessageFormatError,
)

# One query over every shard the relay owns: a dossier lives in one shard, so `position` order over all of
# them keeps each dossier's order, and a wake-up costs one round trip instead of one per shard.
PENDING_ROWS = """
SELECT position, event_id, event_type, topic, dossier_id, headers, value FROM outbox
WHERE shard = ANY($1::int[]) AND state = 'pending'
  AND dossier_id NOT IN (SELECT dossier_id FROM outbox WHERE state = 'failed' AND shard = ANY($1::int[]))
ORDER BY position LIMIT $2
"""
# Each state read through its partial index: a scan of every row not `sent` would read the whole table, which
# grows with every event ever published, once a poll interval.
BACKLOG = """
SELECT pending.count AS pending, coalesce(extract(epoch FROM now() - pending.oldest), 0) AS oldest_s,
       failed.count AS failed, failed.dossiers AS blocked
FROM (SELECT count(*), min(created_at) AS oldest FROM outbox WHERE state = 'pending') AS pending,
     (SELECT count(*), count(DISTINCT dossier_id) AS dossiers FROM outbox WHERE state = 'failed') AS failed
"""


def relay_producer_options(kafka: KafkaSettings) -> dict[str, Any]:
    return {
        **kafka.client_options(),
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 10_000,
        "max_request_size": MAX_REQUEST_BYTES,
    }


def relay_producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(**relay_producer_options(kafka))


class _Row(Protocol):
    def __getitem__(self, column: str) -> Any: ...


Row = TypeVar("Row", bound=_Row)  # an outbox row as asyncpg returns it, or anything read the same way


def waves_of(rows: Sequence[Row]) -> list[list[Row]]:
    """The rows, in `position` order, as waves: the n-th wave holds each dossier's n-th row."""
    waves: list[list[Row]] = []
    seen: dict[str, int] = {}
    for row in rows:
        nth = seen.get(row["dossier_id"], 0)
        seen[row["dossier_id"]] = nth + 1
        if nth == len(waves):
            waves.append([])
        waves[nth].append(row)
    return waves


@dataclass
class RelayMetrics:
    registry: CollectorRegistry

    def __post_init__(self) -> None:
        r = self.registry
        self.published = Counter("lienthong_events_published", "Events published by the relay", ["type"], registry=r)
        self.backlog = Gauge("lienthong_outbox_backlog", "Outbox rows waiting to be published", registry=r)
        self.oldest = Gauge("lienthong_outbox_oldest_age_seconds", "Age of the oldest waiting row", registry=r)
        self.failed = Gauge("lienthong_outbox_failed", "Outbox rows that cannot be published", registry=r)
        self.blocked = Gauge(
            "lienthong_outbox_blocked_dossiers", "Dossiers whose events wait behind a failed row", registry=r
        )
        self.shards = Gauge("lienthong_outbox_shards_owned", "Outbox shards this relay publishes", registry=r)


@dataclass
class Relay:
    dsn: str
    kafka: KafkaSettings
    registry: CollectorRegistry
    # Rows sent but not yet marked when a relay dies are published again: the batch bounds those repeats (one scan
    # covers every owned shard, so under load a scan rarely finds more).
    batch_size: int = 100
    poll_interval_s: float = 1.0
    relay_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    make_producer: Callable[[KafkaSettings], AIOKafkaProducer] = field(default=relay_producer)

    def __post_init__(self) -> None:
        self.metrics = RelayMetrics(self.registry)
        self.owned: set[int] = set()
        self._wake = asyncio.Event()
        self.started = False

    async def run(self) -> None:
        """Runs until cancelled; survives broker and database outages by retrying. The backlog gauges have a
        loop of their own: a broker outage, when they matter most, must not freeze them."""
        publishing: tuple[type[Exception], ...] = (*DATABASE_ERRORS, KafkaError)
        await asyncio.gather(
            keep_running(self._run_connected, event="relay.restarting", errors=publishing, relay_id=self.relay_id),
            keep_running(self._watch_backlog, event="relay.backlog_unreadable", errors=DATABASE_ERRORS),
        )

    async def _watch_backlog(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while True:
                await self._refresh_metrics(conn)
                await asyncio.sleep(self.poll_interval_s)
        finally:
            await conn.close()

    async def _run_connected(self) -> None:
        locks = await asyncpg.connect(self.dsn)
        listener = await asyncpg.connect(self.dsn)
        pool = await create_pool(self.dsn, min_size=1, max_size=2)
        producer = self.make_producer(self.kafka)
        try:
            await listener.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            self.started = True
            producer_started = False
            shared_at = -math.inf
            while True:
                if locks.is_closed():
                    # The shards' locks went with that connection: another relay may hold them now.
                    raise asyncpg.ConnectionDoesNotExistError("the relay's lock connection closed")
                if time.monotonic() - shared_at >= HEARTBEAT_S:
                    await self._share_shards(locks, pool)
                    shared_at = time.monotonic()
                if not producer_started:
                    await producer.start()
                    producer_started = True
                # Cleared before the scan, not after: a NOTIFY of a row committed during the scan must wake the
                # next one at once instead of waiting for the poll.
                self._wake.clear()
                published = await self._publish(pool, producer) if self.owned else 0
                if published < self.batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)
        finally:
            self.owned.clear()
            with contextlib.suppress(Exception):
                await producer.stop()
            for closing in (pool.close(), listener.close(), locks.close()):
                with contextlib.suppress(Exception):
                    await closing

    async def _share_shards(self, locks: asyncpg.Connection, pool: asyncpg.Pool) -> None:
        await pool.execute(
            "INSERT INTO outbox_relays (relay_id, seen_at) VALUES ($1, now()) "
            "ON CONFLICT (relay_id) DO UPDATE SET seen_at = now()",
            self.relay_id,
        )
        live = await pool.fetchval(
            "SELECT count(*) FROM outbox_relays WHERE seen_at > now() - make_interval(secs => $1)", RELAY_ALIVE_S
        )
        fair_share = math.ceil(SHARDS / max(live, 1))
        for shard in sorted(self.owned, reverse=True)[: max(len(self.owned) - fair_share, 0)]:
            await locks.execute("SELECT pg_advisory_unlock($1, $2)", LOCK_NAMESPACE, shard)
            self.owned.discard(shard)
        for shard in range(SHARDS):
            if len(self.owned) >= fair_share:
                break
            if shard not in self.owned and await locks.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", LOCK_NAMESPACE, shard
            ):
                self.owned.add(shard)
        self.metrics.shards.set(len(self.owned))

    async def _publish(self, pool: asyncpg.Pool, producer: AIOKafkaProducer) -> int:
        """One batch, in waves: each dossier's first row of the batch, then its second once the first is
        acknowledged, and so on. A dossier never has two rows in flight, so a row that fails (a broker restarting:
        its partition has no leader yet) cannot be overtaken on the topic by a later one that succeeds; the
        dossier's later rows wait behind it for the next scan, while other dossiers' rows go on."""
        rows = await pool.fetch(PENDING_ROWS, sorted(self.owned), self.batch_size)
        if not rows:
            return 0
        sent: list[int] = []
        failed: list[tuple[int, str]] = []
        halted: set[str] = set()  # dossiers with a row not published in this batch: their later rows wait
        retry_later: BaseException | None = None
        for wave in waves_of(rows):
            deliveries: list[tuple[Any, asyncio.Future[Any]]] = []
            for row in wave:
                if row["dossier_id"] in halted:
                    continue
                try:
                    deliveries.append((row, await self._send(producer, row)))
                except PERMANENT_ERRORS as error:
                    failed.append((row["position"], f"{type(error).__name__}: {error}"))
                    halted.add(row["dossier_id"])
            results = await asyncio.gather(*(future for _, future in deliveries), return_exceptions=True)
            for (row, _), result in zip(deliveries, results, strict=True):
                if not isinstance(result, BaseException):
                    sent.append(row["position"])
                    self.metrics.published.labels(row["event_type"]).inc()
                    continue
                halted.add(row["dossier_id"])
                if isinstance(result, PERMANENT_ERRORS):
                    failed.append((row["position"], f"{type(result).__name__}: {result}"))
                else:
                    retry_later = result
        await self._record(pool, sent, failed)
        if retry_later is not None:
            raise retry_later if isinstance(retry_later, KafkaError) else KafkaError(str(retry_later))
        return len(rows)

    @staticmethod
    async def _send(producer: AIOKafkaProducer, row: asyncpg.Record) -> asyncio.Future[Any]:
        """The row handed to the producer; the future of its acknowledgement."""
        headers = [(name, value.encode()) for name, value in json.loads(row["headers"])]
        size = len(row["value"] or b"") + sum(len(n) + len(v) for n, v in headers)
        if size > MAX_REQUEST_BYTES:
            raise MessageSizeTooLargeError(f"event of {size} bytes exceeds {MAX_REQUEST_BYTES}")
        future: asyncio.Future[Any] = await producer.send(
            row["topic"], row["value"], key=row["dossier_id"].encode(), headers=headers
        )
        return future

    async def _record(self, pool: asyncpg.Pool, sent: list[int], failed: list[tuple[int, str]]) -> None:
        async with pool.acquire() as conn, conn.transaction():
            if sent:
                await conn.execute(
                    "UPDATE outbox SET state = 'sent', sent_at = now() WHERE position = ANY($1::bigint[])", sent
                )
            for position, error in failed:
                await conn.execute(
                    "UPDATE outbox SET state = 'failed', error = $2 WHERE position = $1", position, error
                )
                log.error("outbox.row_failed", position=position, error=error)

    async def _refresh_metrics(self, conn: asyncpg.Connection) -> None:
        row = await conn.fetchrow(BACKLOG)
        assert row is not None
        self.metrics.backlog.set(row["pending"])
        self.metrics.oldest.set(float(row["oldest_s"]))
        self.metrics.failed.set(row["failed"])
        self.metrics.blocked.set(row["blocked"])
