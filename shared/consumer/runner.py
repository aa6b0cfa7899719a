"""The consumer runner: one handler per event type; everything else of the reliability contract is here.

For each record: skip it if its dossierseq is at or below the last applied one of its stream (topic) and dossier;
park it if the dossier is blocked, if a number is missing before it (a gap), or if its handler's precondition is not
met yet; otherwise apply it and record its sequence. After an application the dossier's parked events are retried
in order. The records of one poll are applied together, up to `records_per_transaction` in one transaction, which
spares a BEGIN, a COMMIT and its flush per record; should one of them fail, the transaction is rolled back and each
record goes again in a transaction of its own. There a handler error is retried with backoff, then the record goes
to the group's dead-letter topic and its dossier is blocked in this group until an operator replays (or discards)
the dead letter. Offsets are committed only after the records' transactions, and when partitions are revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.consumer import store
from shared.consumer.store import StoredRecord
from shared.db import CONNECTION_LOST, Connection
from shared.events.envelope import Envelope, MalformedEventError
from shared.retry import keep_running
from shared.settings import KafkaSettings

log = structlog.get_logger(__name__)

ApplyFn = Callable[[Connection, Envelope], Awaitable[None]]
ReadyFn = Callable[[Connection, Envelope], Awaitable[bool]]
# Failures of our own infrastructure, not of the event: never a dead letter; the runner reconnects instead.
INFRASTRUCTURE_ERRORS: tuple[type[Exception], ...] = (*CONNECTION_LOST, KafkaError)


@dataclass(frozen=True)
class Handler:
    """`apply` changes the service's state in the runner's transaction; `ready`, if given, says whether the
    state meets the event's precondition (otherwise the event is parked until the state advances)."""

    apply: ApplyFn
    ready: ReadyFn | None = None


async def _ignore(conn: Connection, envelope: Envelope) -> None:
    """Events of a subscribed topic that this group does not act on still advance the dossier's sequence."""


IGNORED = Handler(_ignore)


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    PARKED = "parked"
    DEAD_LETTERED = "dead_lettered"


class ReplayError(RuntimeError):
    pass


@dataclass
class ConsumerMetrics:
    registry: CollectorRegistry

    def __post_init__(self) -> None:
        r = self.registry
        self.consumed = Counter(
            "lienthong_events_consumed", "Events consumed, by type and outcome", ["type", "outcome"], registry=r
        )
        self.unknown = Counter("lienthong_events_unknown_type", "Events of a type not in the catalogue", registry=r)
        self.latency = Histogram("lienthong_handler_seconds", "Time to handle one event", ["type"], registry=r)
        self.dead_lettered = Counter("lienthong_dead_letters", "Events sent to the dead-letter topic", registry=r)
        self.parked = Gauge("lienthong_parked_events", "Events waiting for their precondition", registry=r)
        self.blocked = Gauge("lienthong_blocked_dossiers", "Dossiers blocked by a dead letter", registry=r)
        self.lag = Gauge("lienthong_consumer_lag", "Records behind the end", ["topic", "partition"], registry=r)


@dataclass
class ConsumerRunner:
    group: str
    topics: list[str]
    handlers: dict[str, Handler]
    pool: asyncpg.Pool
    kafka: KafkaSettings
    registry: CollectorRegistry
    is_known_type: Callable[[str], bool]
    on_tombstone: Callable[[Connection, str], Awaitable[None]] | None = None
    retry_delays_s: tuple[float, ...] = (0.05, 0.25, 1.0)
    park_timeout_s: float = 3600.0
    session_timeout_ms: int = 10_000
    maintenance_interval_s: float = 5.0
    # Bounded so that a backlog's transactions stay short: they hold their dossiers' locks, which the APIs wait for.
    records_per_transaction: int = 50
    started: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.metrics = ConsumerMetrics(self.registry)
        self.dlq_topic = f"{self.group}.dlq"
        self._producer: AIOKafkaProducer | None = None
        self._lag_reported: set[TopicPartition] = set()

    # -- the loop ------------------------------------------------------------------------------------------

    async def run(self) -> None:
        await keep_running(self._consume, event="consumer.restarting", errors=INFRASTRUCTURE_ERRORS, group=self.group)

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(
            **self.kafka.consumer_options(),
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(self.session_timeout_ms // 3, 100),
            max_poll_records=500,
        )
        producer = AIOKafkaProducer(**self.kafka.client_options(), enable_idempotence=True, acks="all")
        processed: dict[TopicPartition, int] = {}
        consumer.subscribe(self.topics, listener=_CommitOnRevoke(consumer, processed))
        try:
            await producer.start()
            self._producer = producer
            await consumer.start()
            self.started = True
            last_maintenance = 0.0
            while True:
                batches = await consumer.getmany(timeout_ms=1000)
                records = [
                    StoredRecord(record.topic, record.partition, record.offset, record.key,
                                 tuple(record.headers), record.value)
                    for partition_records in batches.values() for record in partition_records
                ]  # fmt: skip
                for start in range(0, len(records), self.records_per_transaction):
                    await self.handle_records(records[start : start + self.records_per_transaction])
                processed.update({partition: polled[-1].offset + 1 for partition, polled in batches.items()})
                await _commit(consumer, processed)
                if time.monotonic() - last_maintenance > self.maintenance_interval_s:
                    await self._maintenance(consumer)
                    last_maintenance = time.monotonic()
        finally:
            self._producer = None
            with contextlib.suppress(Exception):
                await consumer.stop()
            with contextlib.suppress(Exception):
                await producer.stop()

    # -- records -------------------------------------------------------------------------------------------

    async def handle_records(self, records: list[StoredRecord]) -> list[Outcome]:
        """Several records in one transaction; each in its own if one of them is malformed or fails."""
        if len(records) == 1:
            return [await self.handle_record(records[0])]
        try:
            envelopes = [Envelope.from_record(record.key, record.value, record.headers) for record in records]
        except MalformedEventError:
            return [await self.handle_record(record) for record in records]
        outcomes: list[Outcome] = []
        seconds: list[float] = []
        to_release: set[str] = set()
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                for envelope, record in zip(envelopes, records, strict=True):
                    with _bound(envelope, record):
                        started = time.perf_counter()
                        handler = self._handler_for(envelope)
                        outcome, others_waiting = (
                            await _pass_over(conn, envelope, record) if handler is IGNORED else None
                        ) or await self._apply(conn, envelope, record, handler)
                    outcomes.append(outcome)
                    seconds.append(time.perf_counter() - started)
                    if outcome is Outcome.APPLIED and others_waiting:
                        to_release.add(envelope.dossierid)
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception as error:
            log.info("consumer.records_one_by_one", records=len(records), error=f"{type(error).__name__}: {error}")
            return [await self.handle_record(record) for record in records]
        for envelope, outcome, took_s in zip(envelopes, outcomes, seconds, strict=True):
            self._count(envelope, outcome, took_s)  # only now: a rolled-back try counts nothing
        for dossier_id in to_release:
            await self._release_parked(dossier_id)
        return outcomes

    async def handle_record(self, record: StoredRecord) -> Outcome:
        try:
            envelope = Envelope.from_record(record.key, record.value, record.headers)
        except MalformedEventError as error:
            self.metrics.consumed.labels("malformed", Outcome.DEAD_LETTERED).inc()
            return await self._dead_letter(record, None, f"malformed event: {error}", attempts=1)
        with _bound(envelope, record):
            started = time.perf_counter()
            outcome, others_waiting = await self._deliver(envelope, record)
            self._count(envelope, outcome, time.perf_counter() - started)
            if outcome is Outcome.APPLIED and others_waiting:
                await self._release_parked(envelope.dossierid)
            return outcome

    def _count(self, envelope: Envelope, outcome: Outcome, took_s: float) -> None:
        self.metrics.latency.labels(envelope.type).observe(took_s)
        self.metrics.consumed.labels(envelope.type, outcome).inc()
        if envelope.type not in self.handlers and not envelope.is_tombstone and not self.is_known_type(envelope.type):
            self.metrics.unknown.inc()
            log.warning("event.unknown_type_skipped", event_type=envelope.type, dossier_id=envelope.dossierid)

    def _handler_for(self, envelope: Envelope) -> Handler:
        if envelope.is_tombstone and self.on_tombstone is not None:
            erase = self.on_tombstone
            return Handler(lambda conn, env: erase(conn, env.dossierid))
        return self.handlers.get(envelope.type) or IGNORED

    async def _deliver(self, envelope: Envelope, record: StoredRecord) -> tuple[Outcome, bool]:
        """The outcome, and whether the dossier had parked events when it was applied (which may go now)."""
        handler = self._handler_for(envelope)
        if handler is IGNORED:
            async with self.pool.acquire() as conn:  # autocommitted: the one statement is enough
                passed = await _pass_over(conn, envelope, record)
            if passed is not None:
                return passed
        for attempt in range(1, len(self.retry_delays_s) + 2):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    return await self._apply(conn, envelope, record, handler)
            except INFRASTRUCTURE_ERRORS:
                raise
            except Exception as error:
                if attempt > len(self.retry_delays_s):
                    error_text = f"{type(error).__name__}: {error}"
                    return await self._dead_letter(record, envelope, error_text, attempt), False
                log.warning("event.retrying", attempt=attempt, error=f"{type(error).__name__}: {error}")
                await asyncio.sleep(self.retry_delays_s[attempt - 1])
        raise AssertionError("unreachable")

    async def _apply(
        self, conn: Connection, envelope: Envelope, record: StoredRecord, handler: Handler
    ) -> tuple[Outcome, bool]:
        stream, dossier, seq = record.topic, envelope.dossierid, envelope.dossierseq
        state = await store.lock_dossier_state(conn, stream, dossier)
        if seq <= state.last_seq:
            if state.parked:
                await store.unpark(conn, envelope.id)
            return Outcome.DUPLICATE, state.parked
        if state.blocked:
            reason = "blocked"
        elif seq > state.last_seq + 1:
            reason = "gap"
        elif handler.ready is not None and not await handler.ready(conn, envelope):
            reason = "precondition"
        else:
            await handler.apply(conn, envelope)
            await store.set_last_seq(conn, stream, dossier, seq)
            if state.parked:
                await store.unpark(conn, envelope.id)
            return Outcome.APPLIED, state.parked
        await store.park(conn, envelope.id, dossier, seq, reason, record)
        if reason == "gap":
            log.warning("event.gap_parked", expected_seq=state.last_seq + 1, got_seq=seq)
        return Outcome.PARKED, True

    async def _release_parked(self, dossier_id: str) -> None:
        """Apply the dossier's parked events whose turn has come, in order, until none can go."""
        progressed = True
        while progressed:
            progressed = False
            async with self.pool.acquire() as conn:
                parked = await store.parked_of(conn, dossier_id)
            for record in parked:
                envelope = Envelope.from_record(record.key, record.value, record.headers)
                outcome, _ = await self._deliver(envelope, record)
                self.metrics.consumed.labels(envelope.type, f"released_{outcome}").inc()
                progressed |= outcome is Outcome.APPLIED

    async def _dead_letter(self, record: StoredRecord, envelope: Envelope | None, error: str, attempts: int) -> Outcome:
        if self._producer is None:
            raise KafkaError("no producer for the dead-letter topic")
        headers = [
            *record.headers,
            ("dlq_error", error[:2000].encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_group", self.group.encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
        ]
        await self._producer.send_and_wait(self.dlq_topic, record.value, key=record.key, headers=headers)
        dossier_id = envelope.dossierid if envelope else (record.key.decode(errors="replace") if record.key else None)
        async with self.pool.acquire() as conn, conn.transaction():
            await store.add_dead_letter(
                conn,
                record,
                event_id=envelope.id if envelope else None,
                event_type=envelope.type if envelope else None,
                dossier_id=dossier_id,
                seq=envelope.dossierseq if envelope else None,
                error=error,
                attempts=attempts,
            )
            if envelope is not None:
                await store.unpark(conn, envelope.id)
        self.metrics.dead_lettered.inc()
        log.error("event.dead_lettered", error=error, attempts=attempts, dlq_topic=self.dlq_topic)
        return Outcome.DEAD_LETTERED

    # -- operators ------------------------------------------------------------------------------------------

    async def replay(self, dead_letter_id: int) -> Outcome:
        """Apply a dead letter after its cause was fixed; then release the dossier's parked events in order."""
        async with self.pool.acquire() as conn, conn.transaction():
            dead_letter = await store.open_dead_letter(conn, dead_letter_id)
            if dead_letter is None:
                raise ReplayError(f"no unresolved dead letter {dead_letter_id} in group {self.group}")
            try:
                envelope = Envelope.from_record(dead_letter.record.key, dead_letter.record.value,
                                                dead_letter.record.headers)  # fmt: skip
            except MalformedEventError as error:
                raise ReplayError(f"a malformed event cannot be applied ({error}); discard it instead") from error
            handler = self._handler_for(envelope)
            last = await store.lock_last_seq(conn, dead_letter.record.topic, envelope.dossierid)
            if envelope.dossierseq > last + 1:
                raise ReplayError(f"events {last + 1}..{envelope.dossierseq - 1} of this dossier were never applied")
            outcome = Outcome.DUPLICATE
            if envelope.dossierseq == last + 1:
                if handler.ready is not None and not await handler.ready(conn, envelope):
                    raise ReplayError("its precondition is still not met")
                await handler.apply(conn, envelope)
                await store.set_last_seq(conn, dead_letter.record.topic, envelope.dossierid, envelope.dossierseq)
                outcome = Outcome.APPLIED
            await store.resolve_dead_letter(conn, dead_letter, "replayed")
        log.info("dead_letter.replayed", dead_letter_id=dead_letter_id, dossier_id=envelope.dossierid)
        await self._release_parked(envelope.dossierid)
        return outcome

    async def discard(self, dead_letter_id: int) -> None:
        """Give up on a dead letter (a malformed event, say): its dossier is unblocked and its sequence number
        skipped, so that the dossier's later events apply."""
        async with self.pool.acquire() as conn, conn.transaction():
            dead_letter = await store.open_dead_letter(conn, dead_letter_id)
            if dead_letter is None:
                raise ReplayError(f"no unresolved dead letter {dead_letter_id} in group {self.group}")
            if dead_letter.dossier_id is not None and dead_letter.seq is not None:
                last = await store.lock_last_seq(conn, dead_letter.record.topic, dead_letter.dossier_id)
                await store.set_last_seq(conn, dead_letter.record.topic, dead_letter.dossier_id,
                                         max(last, dead_letter.seq))  # fmt: skip
            await store.resolve_dead_letter(conn, dead_letter, "discarded")
        log.warning("dead_letter.discarded", dead_letter_id=dead_letter_id, dossier_id=dead_letter.dossier_id)
        if dead_letter.dossier_id is not None:
            await self._release_parked(dead_letter.dossier_id)

    # -- housekeeping ---------------------------------------------------------------------------------------

    async def _maintenance(self, consumer: AIOKafkaConsumer) -> None:
        async with self.pool.acquire() as conn:
            waiting = await store.dossiers_waiting(conn, self.maintenance_interval_s)
        # An event is released by the application of the one it waits for, which looks for parked events when it
        # starts: one parked by another member of the group meanwhile (a dossier's other topic) is released here.
        for dossier_id in waiting:
            await self._release_parked(dossier_id)
        async with self.pool.acquire() as conn:
            stale = await store.parked_too_long(conn, self.park_timeout_s)
        for record in stale:
            envelope = Envelope.from_record(record.key, record.value, record.headers)
            error = f"parked for more than {self.park_timeout_s:.0f} s: its precondition or predecessor never came"
            await self._dead_letter(record, envelope, error, attempts=0)
        async with self.pool.acquire() as conn:
            parked, blocked, _ = await store.counts(conn)
        self.metrics.parked.set(parked)
        self.metrics.blocked.set(blocked)
        assigned = consumer.assignment()
        for partition in assigned:
            highwater = consumer.highwater(partition)
            if highwater is not None:
                lag = highwater - await consumer.position(partition)
                self.metrics.lag.labels(partition.topic, str(partition.partition)).set(lag)
                self._lag_reported.add(partition)
        # A partition another member took in a rebalance is its lag to report now: ours would linger, stale.
        for partition in self._lag_reported - assigned:
            self.metrics.lag.remove(partition.topic, str(partition.partition))
        self._lag_reported &= assigned


async def _pass_over(conn: Connection, envelope: Envelope, record: StoredRecord) -> tuple[Outcome, bool] | None:
    """An ignored event that is its stream's next one advances the sequence in one statement; otherwise (a duplicate,
    a gap) None, and it takes the whole path."""
    passed, parked = await store.pass_over(conn, record.topic, envelope.dossierid, envelope.dossierseq)
    return (Outcome.APPLIED, parked) if passed else None


def _bound(envelope: Envelope, record: StoredRecord) -> contextlib.AbstractContextManager[None]:
    """The event's identity on every log line written while it is handled."""
    return structlog.contextvars.bound_contextvars(
        dossier_id=envelope.dossierid, event_id=envelope.id, event_type=envelope.type,
        topic=record.topic, partition=record.partition, offset=record.offset,
    )  # fmt: skip


async def _commit(consumer: AIOKafkaConsumer, processed: dict[TopicPartition, int]) -> None:
    if not processed:
        return
    try:
        await consumer.commit(dict(processed))
    except (CommitFailedError, IllegalStateError) as error:
        # The partitions moved to another member mid-batch: it redelivers them, dedup absorbs the repeats.
        log.warning("consumer.commit_failed", error=str(error))
    processed.clear()


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: AIOKafkaConsumer, processed: dict[TopicPartition, int]) -> None:
        self.consumer = consumer
        self.processed = processed

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await _commit(self.consumer, {tp: self.processed.pop(tp) for tp in revoked if tp in self.processed})

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        return None
