"""Every published rule version, kept in memory by intake and routing, and followed as new ones arrive: a new
procedure version or holiday year reaches a running service without a restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar, cast

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from shared.calendar.engine import WorkingCalendar
from shared.calendar.holidays import HolidayYear
from shared.retry import keep_running
from shared.rules.agencies import AgencyList
from shared.rules.procedures import ProcedureCatalogue, ProcedureVersion
from shared.rules.publish import RULES_TOPIC, RuleDocument
from shared.settings import KafkaSettings

log = structlog.get_logger(__name__)
T = TypeVar("T")


class RulesNotLoadedError(RuntimeError):
    pass


class RulesStore:
    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
        self.documents: dict[str, RuleDocument] = {}  # in publication order: a later version comes later
        self.loaded = asyncio.Event()
        # What the documents make (a calendar, the catalogue), validated once per state of the documents: a
        # handler asks for them on every event and request.
        self._derived: dict[str, Any] = {}

    async def run(self) -> None:
        """Read the rules topic from the start, then follow it; survives broker outages by reconnecting."""
        await keep_running(self._follow, event="rules.reconnecting", errors=(KafkaError, OSError))

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(**self.kafka.client_options(), enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [
                TopicPartition(RULES_TOPIC, p) for p in sorted(consumer.partitions_for_topic(RULES_TOPIC) or {0})
            ]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            while True:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    for record in records:
                        self._take(record.key, record.value)
                if not self.loaded.is_set() and all([await consumer.position(tp) >= ends[tp] for tp in partitions]):
                    self.loaded.set()
                    log.info("rules.loaded", documents=len(self.documents))
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    def _take(self, key: bytes | None, value: bytes | None) -> None:
        if key is None or value is None:
            return
        try:
            document = RuleDocument.from_record(key, value)
        except ValueError as error:
            log.error("rules.unreadable_document", key=key.decode(errors="replace"), error=str(error))
            return
        if document.key not in self.documents:
            self.documents[document.key] = document
            self._derived.clear()
            if self.loaded.is_set():
                log.info("rules.version_arrived", key=document.key)

    def _derive(self, name: str, make: Callable[[], T]) -> T:
        if name not in self._derived:
            self._derived[name] = make()
        return cast(T, self._derived[name])

    def _of_kind(self, kind: str) -> list[RuleDocument]:
        if not self.loaded.is_set():
            raise RulesNotLoadedError("the rules are not loaded yet (is the broker reachable?)")
        return [d for d in self.documents.values() if d.kind == kind]

    def holiday_years(self) -> list[HolidayYear]:
        """The latest published version of each year (an announced schedule replaces a provisional one)."""
        latest: dict[str, RuleDocument] = {}
        for document in self._of_kind("holidays"):
            latest[document.id] = document
        return [HolidayYear.model_validate(d.data) for d in latest.values()]

    def holiday_versions(self) -> dict[str, str]:
        """What a dossier records as the calendar it was decided under: year -> version."""
        latest: dict[str, str] = {}
        for document in self._of_kind("holidays"):
            latest[document.id] = document.version
        return latest

    def agencies(self) -> AgencyList:
        """The latest published agency list."""
        return self._derive("agencies", self._latest_agencies)

    def _latest_agencies(self) -> AgencyList:
        documents = self._of_kind("agencies")
        if not documents:
            raise RulesNotLoadedError("no agency list is published")
        return AgencyList.model_validate(documents[-1].data)

    def calendar(self) -> tuple[WorkingCalendar, str]:
        """The working calendar from the latest version of each holiday year, and the version a dossier records
        as the one it was decided under (`2025:<v>,2026:<v>,...`)."""
        return self._derive("calendar", self._latest_calendar)

    def _latest_calendar(self) -> tuple[WorkingCalendar, str]:
        versions = self.holiday_versions()
        return WorkingCalendar(self.holiday_years()), ",".join(f"{y}:{v}" for y, v in sorted(versions.items()))

    def catalogue(self) -> ProcedureCatalogue:
        return self._derive("catalogue", self._all_procedures)

    def _all_procedures(self) -> ProcedureCatalogue:
        versions = [ProcedureVersion.model_validate(d.data) for d in self._of_kind("procedure")]
        return ProcedureCatalogue(versions=versions)

    def procedure(self, code: str, on: date) -> ProcedureVersion:
        return self.catalogue().version_at(code, on)

    def summary(self) -> dict[str, list[str]]:
        return {
            kind: sorted(d.key for d in self.documents.values() if d.kind == kind)
            for kind in ("holidays", "procedure", "agencies")
        }
