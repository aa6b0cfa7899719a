"""The topic definitions of `deploy/topics.yaml`, and creating them on a broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import structlog
import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pydantic import BaseModel, Field

from shared.settings import KafkaSettings

log = structlog.get_logger(__name__)

TOPICS_FILE = Path(__file__).resolve().parents[2] / "deploy" / "topics.yaml"
Environment = Literal["local", "production"]


class TopicDefinition(BaseModel):
    name: str
    producer: str
    partitions: int = Field(gt=0)
    purpose: str
    config: dict[str, int | str]


class TopicCatalogue(BaseModel):
    replication: dict[Environment, int]
    defaults: dict[str, int | str]
    topics: list[TopicDefinition]

    def names(self) -> list[str]:
        return [topic.name for topic in self.topics]

    def topic_config(self, topic: TopicDefinition, environment: Environment) -> dict[str, str]:
        config = {**self.defaults, **topic.config}
        if int(config.get("min.insync.replicas", 1)) > self.replication[environment]:
            config["min.insync.replicas"] = self.replication[environment]
        return {key: str(value) for key, value in config.items()}


def load_topics(path: Path = TOPICS_FILE) -> TopicCatalogue:
    return TopicCatalogue.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


class TopicMismatchError(RuntimeError):
    pass


async def ensure_topics(
    kafka: KafkaSettings, environment: Environment = "local", catalogue: TopicCatalogue | None = None
) -> list[str]:
    """Create the missing topics; returns their names. An existing topic with another partition count is an
    error, not something to fix silently: its partitions cannot be changed without breaking per-key order."""
    catalogue = catalogue or load_topics()
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        existing = await _partition_counts(admin)
        for topic in catalogue.topics:
            if topic.name in existing and existing[topic.name] != topic.partitions:
                raise TopicMismatchError(
                    f"topic {topic.name} has {existing[topic.name]} partitions, the definition says "
                    f"{topic.partitions}; partitions are fixed for a topic's life"
                )
        missing = [topic for topic in catalogue.topics if topic.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        name=topic.name,
                        num_partitions=topic.partitions,
                        replication_factor=catalogue.replication[environment],
                        topic_configs=catalogue.topic_config(topic, environment),
                    )
                    for topic in missing
                ]
            )
            for topic in missing:
                log.info("topic.created", topic=topic.name, partitions=topic.partitions)
        return [topic.name for topic in missing]
    finally:
        await admin.close()


async def _partition_counts(admin: AIOKafkaAdminClient) -> dict[str, int]:
    names = await admin.list_topics()
    if not names:
        return {}
    described: list[dict[str, Any]] = await admin.describe_topics(list(names))
    return {topic["topic"]: len(topic["partitions"]) for topic in described}
