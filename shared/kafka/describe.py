"""What the broker holds for each topic of `deploy/topics.yaml` (`lienthong topics describe`): its partitions with
their first and end offsets, and its configuration as the broker applies it, so that an operator sees at once a
topic missing, one with another partition count, or a retention that is not the definition's."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.kafka.reading import administrator, observer, partitions_of
from shared.kafka.topics import TopicCatalogue, load_topics
from shared.settings import KafkaSettings

# The settings that make a topic what the definition says; the broker reports some two hundred.
SHOWN_CONFIG = ("cleanup.policy", "retention.ms", "min.insync.replicas", "min.compaction.lag.ms", "segment.bytes")


@dataclass(frozen=True)
class PartitionState:
    partition: int
    first: int  # the first offset still held (above 0 once old records are deleted or compacted away)
    end: int


@dataclass(frozen=True)
class TopicState:
    name: str
    defined_partitions: int
    partitions: list[PartitionState]  # empty: the topic is not on the broker
    config: dict[str, str]

    @property
    def records(self) -> int:
        return sum(p.end - p.first for p in self.partitions)


async def describe_topics(kafka: KafkaSettings, catalogue: TopicCatalogue | None = None) -> list[TopicState]:
    catalogue = catalogue or load_topics()
    async with administrator(kafka) as admin:
        present = set(await admin.list_topics())
        names = [name for name in catalogue.names() if name in present]
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    configs = {resource[3]: {entry[0]: entry[1] for entry in resource[4] if entry[0] in SHOWN_CONFIG}
               for response in responses for resource in response.resources}  # fmt: skip
    async with observer(kafka) as consumer:
        partitions = await partitions_of(kafka, names)
        first, end = await consumer.beginning_offsets(partitions), await consumer.end_offsets(partitions)
    return [
        TopicState(
            topic.name,
            topic.partitions,
            [PartitionState(tp.partition, first[tp], end[tp]) for tp in partitions if tp.topic == topic.name],
            configs.get(topic.name, {}),
        )
        for topic in catalogue.topics
    ]
