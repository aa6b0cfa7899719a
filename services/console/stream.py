"""The live event stream: one reader of the lifecycle topics per console process, fanned out to every browser that
follows it. The reader is an observer (no consumer group, nothing committed: shared/kafka/reading.py) that starts at
the end, so a browser sees what is published from the moment it connects. The contacts topic is never read: it
carries the applicants' personal data.

The reader runs only while at least one browser follows: an idle console reads nothing (reading every lifecycle
topic costs CPU in proportion to the whole system's traffic). Each browser has a bounded buffer: a browser that
reads slower than the events come loses the oldest lines, and is told how many, so that neither a slow browser nor
many of them make the process grow. Each line is filtered for the staff member before it is buffered: admins see
every event, other staff the events that name their own agency."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge

from shared.identity.staff import Staff
from shared.kafka.reading import END, BrokerUnreachableError, UnknownTopicError, follow
from shared.operations.commands import LIFECYCLE_TOPICS
from shared.operations.events import EventLine, event_line
from shared.retry import keep_running
from shared.settings import KafkaSettings

log = structlog.get_logger(__name__)

READING_ERRORS: tuple[type[Exception], ...] = (KafkaError, OSError, BrokerUnreachableError, UnknownTopicError)


def visible_to(staff: Staff, line: EventLine) -> bool:
    """Admins see every event (a malformed record among them); other staff only the events that name their own
    agency: exactly it, as the services scope what staff may see (`Staff.may_act_for`), not its units."""
    return staff.role == "admin" or any(staff.may_act_for(agency) for agency in line.agencies)


@dataclass(frozen=True)
class StreamFilter:
    """What a browser asked for: some event types (none: every type), one dossier (its code or id)."""

    types: frozenset[str] = frozenset()
    dossier: str | None = None

    def matches(self, line: EventLine) -> bool:
        if self.types and line.type not in self.types:
            return False
        return not self.dossier or line.concerns(self.dossier)


@dataclass(eq=False)  # each browser its own, kept in a set by identity
class Subscription:
    """One browser's view of the stream: the lines it may see and asked for, at most `capacity` of them waiting."""

    staff: Staff
    wanted: StreamFilter
    capacity: int
    dropped: int = 0  # lines lost since the browser last took its lines
    _lines: deque[EventLine] = field(init=False)
    _arrived: asyncio.Event = field(init=False, default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._lines = deque(maxlen=self.capacity)

    def offer(self, line: EventLine) -> bool:
        """Buffers the line if the browser may see it and asked for it; the oldest goes when the buffer is full.
        Returns whether a line was dropped."""
        if not (visible_to(self.staff, line) and self.wanted.matches(line)):
            return False
        full = len(self._lines) == self.capacity
        if full:
            self.dropped += 1
        self._lines.append(line)
        self._arrived.set()
        return full

    def take(self) -> tuple[list[EventLine], int]:
        """The waiting lines, and how many were dropped before them; both start again from nothing."""
        lines, dropped = list(self._lines), self.dropped
        self._lines.clear()
        self.dropped = 0
        self._arrived.clear()
        return lines, dropped

    def wake(self) -> None:
        self._arrived.set()

    async def wait(self, timeout_s: float) -> None:
        """Until a line arrives, or `timeout_s` passes."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._arrived.wait()


class TooManyClientsError(RuntimeError):
    pass


class EventHub:
    """The one reader of this process and the browsers following it (a worker: `run` until cancelled)."""

    def __init__(self, kafka: KafkaSettings, capacity: int, max_clients: int, registry: CollectorRegistry) -> None:
        self.kafka = kafka
        self.capacity = capacity
        self.max_clients = max_clients
        self.following_since: datetime | None = None
        self.closing = False
        self._subscriptions: set[Subscription] = set()
        self._followed = asyncio.Event()  # set while at least one browser follows
        self._unfollowed = asyncio.Event()
        self._unfollowed.set()
        self._events = Counter("lienthong_console_stream_events", "Events read from the lifecycle topics",
                               registry=registry)  # fmt: skip
        self._dropped = Counter("lienthong_console_stream_dropped_lines",
                                "Lines a browser lost because it read slower than they came",
                                registry=registry)  # fmt: skip
        Gauge("lienthong_console_stream_clients", "Browsers following the live stream",
              registry=registry).set_function(lambda: len(self._subscriptions))  # fmt: skip
        Gauge("lienthong_console_stream_following", "1 while the stream's reader follows the topics",
              registry=registry).set_function(lambda: float(self.following))  # fmt: skip

    @property
    def following(self) -> bool:
        return self.following_since is not None

    @property
    def clients(self) -> int:
        return len(self._subscriptions)

    async def run(self) -> None:
        """Reads the topics from their end whenever a first browser comes, until the last one goes."""
        while True:
            await self._followed.wait()
            reading = asyncio.create_task(
                keep_running(self._follow, event="console.stream_restarting", errors=READING_ERRORS)
            )
            try:
                await self._unfollowed.wait()
            finally:
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading

    async def _follow(self) -> None:
        try:
            async for record in follow(self.kafka, LIFECYCLE_TOPICS, END, self._following):
                self.publish(event_line(record))
        finally:
            self.following_since = None

    def _following(self) -> None:
        self.following_since = datetime.now(UTC)
        log.info("console.stream_following", topics=list(LIFECYCLE_TOPICS))
        for subscription in self._subscriptions:
            subscription.wake()  # each browser is told at once that the stream is live

    def publish(self, line: EventLine) -> None:
        self._events.inc()
        for subscription in self._subscriptions:
            if subscription.offer(line):
                self._dropped.inc()

    def close(self) -> None:
        """The process stops: every browser's stream ends now (its browser reconnects, to another process), so
        that the stop does not wait for streams that never end by themselves."""
        self.closing = True
        for subscription in self._subscriptions:
            subscription.wake()

    @contextlib.contextmanager
    def subscribe(self, staff: Staff, wanted: StreamFilter) -> Iterator[Subscription]:
        if len(self._subscriptions) >= self.max_clients:
            raise TooManyClientsError(f"{self.max_clients} browsers already follow the stream of this console")
        subscription = Subscription(staff, wanted, self.capacity)
        self._subscriptions.add(subscription)
        self._unfollowed.clear()
        self._followed.set()
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
            if not self._subscriptions:
                self._followed.clear()
                self._unfollowed.set()
