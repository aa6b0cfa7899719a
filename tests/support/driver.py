"""A driver for one service under test: it plays the services around it — publishes their events on their topics,
with each dossier's sequence numbers, signs staff tokens, moves the shared test clock — and collects what the
service publishes on its own topic (each event id once; repeats of an id are counted, the topic is at-least-once)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.events.catalogue.base import EventData
from shared.events.envelope import Envelope
from shared.identity.keys import ensure_signing_key
from shared.identity.staff import Role, Staff
from shared.identity.tokens import issue_token
from shared.settings import KafkaSettings
from tests.support.messaging import envelope, eventually, send

INTAKE, POSTAL, NOTIFICATION, ROUTING, CONTACTS = (
    "lienthong.intake.v1", "lienthong.postal.v1", "lienthong.notification.v1", "lienthong.routing.v1",
    "lienthong.intake.contacts.v1",
)  # fmt: skip


@dataclass(frozen=True)
class Dossier:
    id: str
    code: str
    desk: str
    due_at: datetime | None = None


@dataclass
class ServiceDriver:
    http: httpx.AsyncClient
    producer: AIOKafkaProducer
    home: Path
    collected_topic: str
    published: dict[str, list[Envelope]] = field(default_factory=lambda: defaultdict(list))
    repeats: int = 0  # records of an id already seen
    sent: dict[str, list[Envelope]] = field(default_factory=lambda: defaultdict(list))
    _seq: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def set_clock(self, at: datetime) -> None:
        """Stop the shared clock at `at` (for every process of the service under test)."""
        (self.home / "clock.json").write_text(json.dumps({"frozen_at": at.isoformat()}))

    def run_clock_from(self, at: datetime) -> None:
        """Let the shared clock run at real speed from `at` (retries and waits then come by themselves)."""
        offset = (at - datetime.now(UTC)).total_seconds()
        (self.home / "clock.json").write_text(json.dumps({"offset_s": offset}))

    def token(self, agency: str, role: Role = "processing", staff_id: str | None = None) -> dict[str, str]:
        key, _ = ensure_signing_key(self.home / "identity")
        staff = Staff(staff_id or f"{role}@{agency}", agency, role)
        return {"Authorization": f"Bearer {issue_token(key, staff, lifetime=timedelta(hours=2))}"}

    async def publish(self, dossier: Dossier, event: EventData, topic: str = INTAKE) -> Envelope:
        self._seq[topic, dossier.id] += 1
        sent = envelope(event.event_type, dossier.id, self._seq[topic, dossier.id], event.model_dump(mode="json"),
                        subject=dossier.code)  # fmt: skip
        if getattr(event, "tombstone", False):  # an erasure: a record without a value
            await self.producer.send_and_wait(topic, None, key=sent.key(), headers=sent.headers())
        else:
            await send(self.producer, topic, sent)
        self.sent[dossier.id].append(sent)
        return sent

    async def redeliver(self, sent: Envelope, topic: str = INTAKE) -> None:
        await send(self.producer, topic, sent)

    async def wait_for(
        self, dossier: Dossier, done: Callable[[list[Envelope]], bool], what: str = "the service's events"
    ) -> list[Envelope]:
        async def arrived() -> bool:
            return done(self.published[dossier.id])

        await eventually(arrived, timeout_s=30, what=f"{what} of {dossier.code}")
        return self.published[dossier.id]

    async def events(self, dossier: Dossier, *types: str) -> list[Envelope]:
        """The service's events of the dossier once each of `types` has arrived (in that order, repeats allowed)."""
        return await self.wait_for(dossier, lambda events: _has_in_order([e.type for e in events], types))

    async def collect(self, kafka: KafkaSettings) -> None:
        consumer = AIOKafkaConsumer(
            self.collected_topic, **kafka.client_options(), auto_offset_reset="earliest", enable_auto_commit=False
        )
        await consumer.start()
        seen: set[str] = set()
        try:
            while True:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for record in records:
                        event = Envelope.from_record(record.key, record.value, record.headers)
                        if event.id in seen:
                            self.repeats += 1
                        else:
                            seen.add(event.id)
                            self.published[event.dossierid].append(event)
        finally:
            await consumer.stop()


def _has_in_order(published: list[str], wanted: tuple[str, ...]) -> bool:
    remaining = iter(published)
    return all(any(t == w for t in remaining) for w in wanted)


Driver = TypeVar("Driver", bound=ServiceDriver)


@contextlib.asynccontextmanager
async def driving(kind: type[Driver], base: str, home: Path, kafka: KafkaSettings, topic: str) -> AsyncIterator[Driver]:
    producer = AIOKafkaProducer(**kafka.client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        driver = kind(http, producer, home, topic)
        collector = asyncio.create_task(driver.collect(kafka))
        try:
            yield driver
        finally:
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collector
            await producer.stop()
