"""The example subscriber of docs/events.md (examples/subscriber.py), run as the program an integrator copies, against
the real broker: with a group of its own it reads catalogue events (the examples of examples.yaml, for dossiers of
this test) from a lifecycle topic, prints each once although one is published twice, commits after handling, and,
restarted, goes on from its committed offsets instead of printing the events again."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.events.catalogue import CATALOGUE
from shared.events.envelope import Envelope
from shared.events.examples import example_envelope
from shared.settings import KafkaSettings
from tests.support.messaging import eventually, unique
from tests.support.subscriber import subscriber

TOPIC = "lienthong.routing.v1"
LIFE = ("dossier.processing-started", "step.transferred", "dossier.result-ready", "dossier.result-returned")


def life_of(dossier_id: str, code: str) -> list[Envelope]:
    """A dossier's routing events as the catalogue's examples have them, numbered 1, 2, 3... for this dossier."""
    return [replace(example_envelope(CATALOGUE[event_type], seq), id=str(uuid.uuid4()), dossierid=dossier_id,
                    subject=code) for seq, event_type in enumerate(LIFE, 1)]  # fmt: skip


async def publish(producer: AIOKafkaProducer, events: list[Envelope]) -> dict[TopicPartition, int]:
    """Publishes in order; returns the offset after the last record published per partition."""
    ends: dict[TopicPartition, int] = {}
    for event in events:
        sent = await producer.send_and_wait(TOPIC, event.value(), key=event.key(), headers=event.headers())
        ends[TopicPartition(TOPIC, sent.partition)] = sent.offset + 1
    return ends


async def committed(kafka: KafkaSettings, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {partition: found.offset for partition, found in offsets.items()}


async def test_the_example_subscriber_prints_each_event_once_and_commits_after_handling(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    group = unique("example-subscriber")
    first, second = (life_of(str(uuid.uuid4()), f"H29.101.1-261202-{uuid.uuid4().int % 10**8:08d}") for _ in "12")
    producer = AIOKafkaProducer(**kafka_settings.client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        async with subscriber(kafka_settings.bootstrap_servers, group, TOPIC, tmp_path / "subscriber.log") as running:
            # Two dossiers interleaved; the second one's step.transferred arrives twice, as after a relay's restart.
            ends = await publish(producer, [first[0], second[0], second[1], first[1], second[1], second[2], first[2]])
            printed = await running.printed([e.id for e in first[:3] + second[:3]])
            assert [i for i in printed if i in {e.id for e in first}] == [e.id for e in first[:3]]
            assert [i for i in printed if i in {e.id for e in second}] == [e.id for e in second[:3]], "once each"
            line = next(line for line in running.lines if first[2].id in line)
            assert f"{first[2].subject} #3 dossier.result-ready status 4->9 id=" in line

            async def all_committed() -> bool:
                done = await committed(kafka_settings, group)
                return all(done.get(partition, -1) >= end for partition, end in ends.items())

            await eventually(all_committed, what="the offsets committed after the events were handled")

        # Restarted in the same group, it goes on from its committed offsets: only the new event is printed.
        async with subscriber(kafka_settings.bootstrap_servers, group, TOPIC, tmp_path / "subscriber.log") as restarted:
            await publish(producer, [first[3]])
            printed = await restarted.printed([first[3].id])
            ours = {e.id for e in first + second}
            assert [i for i in printed if i in ours] == [first[3].id]
    finally:
        await producer.stop()
