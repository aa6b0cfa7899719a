import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka.topics import TopicCatalogue, TopicDefinition, TopicMismatchError, ensure_topics
from shared.settings import KafkaSettings


def catalogue_of(name: str, partitions: int) -> TopicCatalogue:
    return TopicCatalogue(
        replication={"local": 1, "production": 3},
        defaults={"min.insync.replicas": 2},
        topics=[
            TopicDefinition(
                name=name, producer="test", partitions=partitions, purpose="test", config={"retention.ms": -1}
            )
        ],
    )


async def test_ensure_topics_creates_once_then_finds_them(kafka_settings: KafkaSettings) -> None:
    name = f"ensure.{uuid.uuid4().hex[:8]}"
    assert await ensure_topics(kafka_settings, catalogue=catalogue_of(name, 4)) == [name]
    assert await ensure_topics(kafka_settings, catalogue=catalogue_of(name, 4)) == []


async def test_a_topic_with_other_partitions_is_refused_not_altered(kafka_settings: KafkaSettings) -> None:
    name = f"ensure.{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_settings, catalogue=catalogue_of(name, 2))
    with pytest.raises(TopicMismatchError, match="2 partitions, the definition says 3"):
        await ensure_topics(kafka_settings, catalogue=catalogue_of(name, 3))
    admin = AIOKafkaAdminClient(**kafka_settings.client_options())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([name])
        assert len(described["partitions"]) == 2
    finally:
        await admin.close()
