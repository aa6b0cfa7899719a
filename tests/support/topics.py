"""What the services published, read back to prove the event contract (design.md): every record of a topic up to
its end offsets, and, per topic and dossier, the stream a consumer sees — each sequence number once, in order,
with no gap, every event valid against its catalogued model. Repeats of an event id are allowed and counted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from shared.events.catalogue import SUBSCRIPTIONS, contacts, intake, notification, postal, routing, spec_for
from shared.events.envelope import Envelope, MalformedEventError
from shared.kafka.lag import group_lags
from shared.kafka.reading import read_to_end
from shared.kafka.topics import load_topics
from shared.settings import KafkaSettings

PARTITIONS = {topic.name: topic.partitions for topic in load_topics().topics}
INTAKE, CONTACTS, ROUTING = intake.TOPIC, contacts.TOPIC, routing.TOPIC
NOTIFICATION, POSTAL = notification.TOPIC, postal.TOPIC
TOPICS = (INTAKE, CONTACTS, ROUTING, NOTIFICATION, POSTAL)


@dataclass(frozen=True)
class Published:
    topic: str
    offset: int
    event: Envelope | None  # None: a record that is no event (its `malformed` says why)
    key: str = ""
    malformed: str = ""


async def read_topics(bootstrap_servers: str, topics: Iterable[str], timeout_s: float = 120) -> list[Published]:
    """Every record on `topics` up to the end offsets taken when the read starts, in offset order per partition,
    each parsed as the event it must be. Records that are no event (tests put some there on purpose, for the
    dead-letter topics) are kept as such: a dossier's stream counts one against it."""
    records = await read_to_end(KafkaSettings(bootstrap_servers=bootstrap_servers), topics, timeout_s=timeout_s)
    return [_parsed(r.topic, r.offset, r.key, r.value, list(r.headers)) for r in records]


def _parsed(
    topic: str, offset: int, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
) -> Published:
    try:
        return Published(topic, offset, Envelope.from_record(key, value, headers))
    except MalformedEventError as error:
        return Published(topic, offset, None, (key or b"").decode(errors="replace"), str(error))


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
        if event is None:
            if dossier_ids is None or record.key in dossier_ids:
                stream = streams.setdefault((record.topic, record.key), Stream(record.topic, record.key))
                stream.invalid.append(f"offset {record.offset}: {record.malformed}")
            continue
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
        stream.lost = sorted(set(range(1, max(arrived, default=0) + 1)) - arrived)
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
    lags = await group_lags(KafkaSettings(bootstrap_servers=bootstrap_servers), {group: list(SUBSCRIPTIONS[group])})
    return sum(partition.lag for partition in lags)
