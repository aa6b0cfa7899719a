"""An example subscriber to lienthong's events, to copy: it follows one lifecycle topic with its own consumer group,
prints each event once, and commits its offset only after handling the event.

    KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 SUBSCRIBER_GROUP=my-dashboard SUBSCRIBER_TOPIC=lienthong.routing.v1 \\
        python examples/subscriber.py

It needs aiokafka only (`pip install aiokafka`), not lienthong. docs/events.md explains what it relies on: the
CloudEvents attributes are the record's `ce_*` headers and the value is the event's data as JSON; topics are at
least once, so it skips an event whose `ce_dossierseq` it has already handled for that `ce_dossierid`; and a
dossier's events are in order within one topic (never across topics). A new group starts at the beginning of the
topic, which keeps every event.

A real subscriber keeps its last sequence number per dossier in its own database, written in the same transaction
as what it does with the event, so that both survive a restart; this one keeps them in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

REQUIRED = ("id", "source", "type", "specversion", "time", "subject", "dataschema", "dossierid", "dossierseq")


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    time: str
    subject: str  # the dossier code
    dossierid: str
    dossierseq: int
    data: dict[str, Any] | None  # None for a tombstone (on the contacts topic only)


def parse(record: ConsumerRecord[bytes, bytes]) -> Event:
    """The event a record carries (CloudEvents, binary content mode); ValueError if it is not one."""
    attributes = {name.removeprefix("ce_"): raw.decode() for name, raw in record.headers if name.startswith("ce_")}
    missing = [name for name in REQUIRED if not attributes.get(name)]
    if missing:
        raise ValueError(f"not a lienthong event, it lacks: {', '.join(missing)}")
    data = None if record.value is None else json.loads(record.value)
    return Event(attributes["id"], attributes["type"], attributes["time"], attributes["subject"],
                 attributes["dossierid"], int(attributes["dossierseq"]), data)  # fmt: skip


def handle(event: Event, last_seq: dict[str, int]) -> None:
    """Prints the event unless it was handled already (the same dossier and sequence number, or an earlier one)."""
    last = last_seq.get(event.dossierid, 0)
    if event.dossierseq <= last:
        return  # a repeat: topics are at least once
    if last and event.dossierseq > last + 1:
        # An event of this dossier is missing (published elsewhere, or before this group's offsets): say so, loudly.
        print(f"gap: {event.subject} jumps from #{last} to #{event.dossierseq}", file=sys.stderr, flush=True)
    last_seq[event.dossierid] = event.dossierseq
    data = event.data or {}
    status = f" status {data.get('status_from')}->{data['status_to']}" if "status_to" in data else ""
    print(f"{event.time} {event.subject} #{event.dossierseq} {event.type}{status} id={event.id}", flush=True)


async def subscribe(bootstrap_servers: str, group: str, topic: str) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,  # committed below, once each event is handled
        auto_offset_reset="earliest",  # a new group reads the topic from its beginning
    )
    last_seq: dict[str, int] = {}
    await consumer.start()
    try:
        async for record in consumer:
            try:
                handle(parse(record), last_seq)
            except ValueError as error:
                where = f"{record.topic}/{record.partition}@{record.offset}"
                print(f"skipped {where}: {error}", file=sys.stderr, flush=True)
            # Only now: stopped before this line, the group reads the event again on restart instead of losing it.
            await consumer.commit({TopicPartition(record.topic, record.partition): record.offset + 1})
    finally:
        await consumer.stop()


def main() -> None:
    bootstrap_servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    group = os.environ.get("SUBSCRIBER_GROUP", "example-subscriber")
    topic = os.environ.get("SUBSCRIBER_TOPIC", "lienthong.routing.v1")
    print(f"following {topic} as group {group} on {bootstrap_servers}; Ctrl-C stops", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(subscribe(bootstrap_servers, group, topic))


if __name__ == "__main__":
    main()
