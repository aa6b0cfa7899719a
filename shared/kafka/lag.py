"""How far behind each consumer group is, from the broker's side: its committed offset per partition against the
partition's end offset. The services' own gauge (`lienthong_consumer_lag`) counts from their position in memory;
this one is what a group would restart from, so it also shows a group whose processes are all down."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CoordinatorLoadInProgressError, GroupCoordinatorNotAvailableError
from aiokafka.structs import OffsetAndMetadata

from shared.kafka.reading import administrator, observer, partitions_of
from shared.settings import KafkaSettings


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group never committed here (it starts from the beginning)
    end: int

    @property
    def lag(self) -> int:
        return self.end - (self.committed or 0)


async def group_lags(kafka: KafkaSettings, subscriptions: Mapping[str, Sequence[str]]) -> list[PartitionLag]:
    """The lag of each group on every partition of the topics it reads (`subscriptions`: group -> topics)."""
    lags = []
    async with administrator(kafka) as admin, observer(kafka) as consumer:
        for group, topics in subscriptions.items():
            committed = await _committed(admin, group)
            partitions = await partitions_of(kafka, topics)
            end = await consumer.end_offsets(partitions)
            for tp in partitions:
                offset = committed[tp].offset if tp in committed else -1  # -1: the broker's "none"
                lags.append(PartitionLag(group, tp.topic, tp.partition, offset if offset >= 0 else None, end[tp]))
    return lags


# A broker creates its offsets topic, and so the groups' coordinator, at the first question about a group.
COORDINATOR_WAIT_S = (0.2, 0.5, 1.0, 2.0, 4.0)


async def _committed(admin: AIOKafkaAdminClient, group: str) -> dict[TopicPartition, OffsetAndMetadata]:
    for delay in COORDINATOR_WAIT_S:
        try:
            committed: dict[TopicPartition, OffsetAndMetadata] = await admin.list_consumer_group_offsets(group)
        except (GroupCoordinatorNotAvailableError, CoordinatorLoadInProgressError):
            await asyncio.sleep(delay)
        else:
            return committed
    committed = await admin.list_consumer_group_offsets(group)
    return committed
