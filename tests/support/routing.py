"""A routing process under test, and a driver that plays the other services around it: it publishes what intake,
postal and notification would (accepted dossiers, facts, survey answers), acts through the staff API with tokens
of each agency, moves the shared test clock, and collects what routing publishes on its topic."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.intake.domain import appointment
from shared.calendar.engine import WorkingCalendar
from shared.calendar.holidays import load_holiday_years
from shared.events.catalogue.base import EventData
from shared.events.catalogue.common import Actor, AgencyRef, ProcedureRef, ReturnChannel, StaffRole
from shared.events.envelope import Envelope
from shared.events.examples import examples
from shared.identity.keys import ensure_signing_key
from shared.identity.staff import Role, Staff
from shared.identity.tokens import issue_token
from shared.rules.publish import SHIPPED_RULES
from shared.rules.validate import load_rules
from shared.settings import KafkaSettings
from tests.support.messaging import envelope, eventually, send

CATALOGUE, AGENCIES = load_rules(SHIPPED_RULES)
CALENDAR = WorkingCalendar(load_holiday_years())
INTAKE, POSTAL, NOTIFICATION, ROUTING = (
    "lienthong.intake.v1", "lienthong.postal.v1", "lienthong.notification.v1", "lienthong.routing.v1",
)  # fmt: skip


@dataclass(frozen=True)
class Dossier:
    id: str
    code: str
    desk: str
    due_at: datetime


@dataclass
class RoutingDriver:
    http: httpx.AsyncClient
    producer: AIOKafkaProducer
    home: Path
    published: dict[str, list[Envelope]] = field(default_factory=lambda: defaultdict(list))
    repeats: int = 0  # records of an id already seen: the topic is at-least-once
    sent: dict[str, list[Envelope]] = field(default_factory=lambda: defaultdict(list))
    _seq: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    # -- the other services ---------------------------------------------------------------------------------

    def set_clock(self, at: datetime) -> None:
        (self.home / "clock.json").write_text(json.dumps({"frozen_at": at.isoformat()}))

    def token(self, agency: str, role: Role = "processing", staff_id: str | None = None) -> dict[str, str]:
        key, _ = ensure_signing_key(self.home / "identity")
        staff = Staff(staff_id or f"{role}@{agency}", agency, role)
        return {"Authorization": f"Bearer {issue_token(key, staff, lifetime=timedelta(hours=2))}"}

    async def accept(
        self, procedure: str, version: int, desk: str, received_at: datetime, return_channel: str = "desk"
    ) -> Dossier:
        """What intake publishes when the desk accepts a dossier; waits until routing took it into processing."""
        dossier = await self.publish_accepted(procedure, version, desk, received_at, return_channel)
        await self.wait_for(dossier, lambda events: any(e.type == "dossier.processing-started" for e in events))
        return dossier

    async def publish_accepted(
        self, procedure: str, version: int, desk: str, received_at: datetime, return_channel: str = "desk"
    ) -> Dossier:
        found = CATALOGUE.numbered(procedure, version)
        dossier_id = str(uuid.uuid4())
        code = f"{desk}-{received_at:%y%m%d}-{uuid.uuid4().int % 10**8:08d}"
        due_at = appointment(CALENDAR, found, received_at)
        accepted = examples()["dossier.accepted"].model_copy(
            update={
                "dossier_code": code, "received_at": received_at, "accepted_at": received_at, "due_at": due_at,
                "procedure": ProcedureRef(code=procedure, catalogue_version=str(version), title=found.name_vi),
                "receiving_agency": AgencyRef(code=desk, title=AGENCIES.by_code(desk).name_vi),
                "return_channel": ReturnChannel(return_channel),
                "actor": Actor(staff_id=f"reception@{desk}", agency_code=desk, role=StaffRole.RECEPTION),
            }
        )  # fmt: skip
        dossier = Dossier(dossier_id, code, desk, due_at)
        await self.publish(dossier, accepted, INTAKE)
        return dossier

    async def publish(self, dossier: Dossier, event: EventData, topic: str = INTAKE) -> Envelope:
        self._seq[topic, dossier.id] += 1
        sent = envelope(event.event_type, dossier.id, self._seq[topic, dossier.id], event.model_dump(mode="json"))
        await send(self.producer, topic, sent)
        self.sent[dossier.id].append(sent)
        return sent

    async def redeliver(self, sent: Envelope, topic: str = INTAKE) -> None:
        await send(self.producer, topic, sent)

    # -- the staff API ----------------------------------------------------------------------------------------

    async def act(
        self, dossier: Dossier, path: str, auth: dict[str, str], body: dict[str, Any] | None = None, expect: int = 200
    ) -> dict[str, Any]:
        answer = await self.http.post(f"/processing/dossiers/{dossier.code}/{path}", json=body or {}, headers=auth)
        assert answer.status_code == expect, f"{path}: {answer.status_code} {answer.text}"
        return dict(answer.json())

    async def view(self, dossier: Dossier, auth: dict[str, str]) -> dict[str, Any]:
        answer = await self.http.get(f"/processing/dossiers/{dossier.code}", headers=auth)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    # -- what routing publishes ------------------------------------------------------------------------------

    async def wait_for(
        self, dossier: Dossier, done: Callable[[list[Envelope]], bool], what: str = "routing's events"
    ) -> list[Envelope]:
        async def arrived() -> bool:
            return done(self.published[dossier.id])

        await eventually(arrived, timeout_s=30, what=f"{what} of {dossier.code}")
        return self.published[dossier.id]

    async def events(self, dossier: Dossier, *types: str) -> list[Envelope]:
        """Routing's events of the dossier once each of `types` has arrived (in that order, repeats allowed)."""
        return await self.wait_for(dossier, lambda events: _has_in_order([e.type for e in events], types))

    async def collect(self, kafka: KafkaSettings) -> None:
        consumer = AIOKafkaConsumer(
            ROUTING, **kafka.client_options(), auto_offset_reset="earliest", enable_auto_commit=False
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


@contextlib.asynccontextmanager
async def driving(base: str, home: Path, kafka: KafkaSettings) -> AsyncIterator[RoutingDriver]:
    producer = AIOKafkaProducer(**kafka.client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        driver = RoutingDriver(http, producer, home)
        collector = asyncio.create_task(driver.collect(kafka))
        try:
            yield driver
        finally:
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collector
            await producer.stop()
