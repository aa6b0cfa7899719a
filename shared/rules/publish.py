"""Rules as dated data, published at run time (design.md, "Time, calendar and rules").

`lienthong rules publish <folder>` validates a rules folder — `holidays/<year>.yaml`, `procedures/*.yaml`,
`agencies.yaml` — and publishes each document on the compacted topic `lienthong.rules.v1`, keyed
`<kind>/<id>/<version>`: every version stays on the topic, so a dossier decided under an older one can always be
explained. A procedure version is numbered in its data; a holiday year or an agency list is versioned by the
digest of its content, so an announced schedule replacing a provisional one is simply a new version. A version
already published is never overwritten with other content: that is refused, and the fix is a new version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.calendar.holidays import load_holiday_years
from shared.rules.validate import load_rules, validate_catalogue
from shared.settings import KafkaSettings

RULES_TOPIC = "lienthong.rules.v1"
SHIPPED_RULES = Path(__file__).resolve().parents[2] / "deploy" / "rules"
Kind = Literal["holidays", "procedure", "agencies"]


class RulesInvalidError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("the rules are not valid:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RuleDocument:
    kind: Kind
    id: str
    version: str
    data: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.id}/{self.version}"

    def value(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_record(cls, key: bytes, value: bytes) -> RuleDocument:
        kind, id_, version = key.decode().split("/", 2)
        if kind not in ("holidays", "procedure", "agencies"):
            raise ValueError(f"unknown rule kind in key {key.decode()!r}")
        return cls(kind, id_, version, json.loads(value))  # type: ignore[arg-type]


def content_version(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return "sha256-" + hashlib.sha256(canonical).hexdigest()[:16]


def documents_from_folder(folder: Path = SHIPPED_RULES) -> list[RuleDocument]:
    """Every document of a rules folder, once the whole folder is valid; RulesInvalidError lists all problems."""
    try:
        holidays = load_holiday_years(folder / "holidays")
        catalogue, agencies = load_rules(folder)
    except (OSError, ValueError) as error:
        raise RulesInvalidError([f"{type(error).__name__}: {error}"]) from error
    problems = validate_catalogue(catalogue, agencies)
    if problems:
        raise RulesInvalidError(problems)
    documents: list[RuleDocument] = []
    for year in holidays:
        data = year.model_dump(mode="json")
        documents.append(RuleDocument("holidays", str(year.year), content_version(data), data))
    for version in catalogue.versions:
        documents.append(
            RuleDocument("procedure", version.code, f"v{version.version}", version.model_dump(mode="json"))
        )
    agency_data = agencies.model_dump(mode="json")
    documents.append(RuleDocument("agencies", "all", content_version(agency_data), agency_data))
    return documents


async def read_published(kafka: KafkaSettings) -> dict[str, bytes]:
    """Every document on the rules topic, by key (the last value of each)."""
    consumer = AIOKafkaConsumer(**kafka.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(RULES_TOPIC, p) for p in sorted(consumer.partitions_for_topic(RULES_TOPIC) or [])]
        if not partitions:
            partitions = [TopicPartition(RULES_TOPIC, 0)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        published: dict[str, bytes] = {}
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    if record.key is not None and record.value is not None:
                        published[record.key.decode()] = record.value
        return published
    finally:
        await consumer.stop()


async def publish(kafka: KafkaSettings, documents: list[RuleDocument]) -> list[str]:
    """Publish the documents not on the topic yet; returns their keys. Refuses, before sending anything, a
    document whose version was already published with other content."""
    published = await read_published(kafka)
    changed = [d.key for d in documents if d.key in published and published[d.key] != d.value()]
    if changed:
        raise RulesInvalidError(
            [f"{key} is already published with other content; give it a new version" for key in changed]
        )
    new = [d for d in documents if d.key not in published]
    if not new:
        return []
    producer = AIOKafkaProducer(**kafka.client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for document in new:
            await producer.send(RULES_TOPIC, document.value(), key=document.key.encode(),
                                headers=[("content-type", b"application/json")])  # fmt: skip
        await producer.flush()
    finally:
        await producer.stop()
    return [d.key for d in new]
