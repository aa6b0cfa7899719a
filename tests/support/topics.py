"""What the services published, read back to prove the event contract (design.md): every record of a topic up to
its end offsets, and, per topic and dossier, the stream a consumer sees — each sequence number once, in order,
with no gap, every event valid against its catalogued model. Repeats of an event id are allowed and counted."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from shared.events.catalogue import SUBSCRIPTIONS, contacts, intake, notification, postal, routing, spec_for
from shared.events.envelope import Envelope
from shared.kafka.topics import load_topics

PARTITIONS = {topic.name: topic.partitions for topic in load_topics().topics}
INTAKE, CONTACTS, ROUTING = intake.TOPIC, contacts.TOPIC, routing.TOPIC
NOTIFICATION, POSTAL = notification.TOPIC, postal.TOPIC
TOPICS = (INTAKE, CONTACTS, ROUTING, NOTIFICATION, POSTAL)


@dataclass(frozen=True)
class Published:
    topic: str
    offset: int
    event: Envelope


async def read_topics(bootstrap_servers: str, topics: Iterable[str], timeout_s: float = 120) -> list[Published]:
    """Every record on `topics` up to the end offsets taken when the read starts, in offset order per partition.
    Reading to the end offsets, not to an expected count, makes a loss show up as a gap instead of a wait."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[Published] = []
    try:
        partitions = [TopicPartition(topic, p) for topic in topics for p in range(PARTITIONS[topic])]
        consumer.assign(partitions)
        end = await consumer.end_offsets(partitions)
        async with asyncio.timeout(timeout_s):
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                for tp, records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).items():
                    found += [
                        Published(tp.topic, r.offset, Envelope.from_record(r.key, r.value, list(r.headers)))
                        for r in records
                        if r.offset < end[tp]
                    ]
    finally:
        await consumer.stop()
    return found


@dataclass
class Stream:
    """One dossier's events on one topic, in offset order (a dossier's records share a partition)."""

    topic: str
    dossier_id: str
    events: list[Envelope] = field(default_factory=list)  # each event id once, as first seen
    repeats: int = 0  # records whose event id came before: allowed (at-least-once), counted
    lost: list[int] = field(default_factory=list)  # sequence numbers that never arrived
    out_of_order: int = 0  # first sightings whose sequence number is below one already seen
    invalid: list[str] = field(default_factory=list)  # events their catalogued model rejects

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.events]


def streams_of(published: Iterable[Published], dossier_ids: set[str] | None = None) -> dict[tuple[str, str], Stream]:
    """The per-dossier streams on each topic, checked; only the given dossiers' when `dossier_ids` is set."""
    streams: dict[tuple[str, str], Stream] = {}
    seen_ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record in sorted(published, key=lambda p: (p.topic, p.offset)):
        event = record.event
        if dossier_ids is not None and event.dossierid not in dossier_ids:
            continue
        key = (record.topic, event.dossierid)
        stream = streams.setdefault(key, Stream(record.topic, event.dossierid))
        if event.id in seen_ids[key]:
            stream.repeats += 1
            continue
        seen_ids[key].add(event.id)
        if stream.events and event.dossierseq < stream.events[-1].dossierseq:
            stream.out_of_order += 1
        stream.events.append(event)
        stream.invalid += _invalid(event)
    for stream in streams.values():
        arrived = {event.dossierseq for event in stream.events}
        stream.lost = sorted(set(range(1, max(arrived) + 1)) - arrived)
        stream.events.sort(key=lambda e: e.dossierseq)
    return streams


def _invalid(event: Envelope) -> list[str]:
    spec = spec_for(event.type)
    if spec is None:
        return [f"{event.type}: not in the catalogue"]
    if event.data is None:
        return []
    try:
        spec.model.model_validate(event.data)
    except ValidationError as error:
        return [f"{event.type} #{event.dossierseq}: {error.error_count()} errors: {error.errors()[0]['msg']}"]
    return []


async def lag_of(bootstrap_servers: str, group: str) -> int:
    """How many records of its topics the consumer group has not committed yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        partitions = [TopicPartition(topic, p) for topic in SUBSCRIPTIONS[group] for p in range(PARTITIONS[topic])]
        end = await consumer.end_offsets(partitions)
        return sum(end[tp] - (committed[tp].offset if tp in committed else 0) for tp in partitions)
    finally:
        await consumer.stop()
        await admin.close()
