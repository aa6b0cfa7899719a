"""Every kind of aiokafka call the project makes, against the real broker (Kafka 4 removed old protocol
versions, KIP-896): idempotent produce with acks=all, group consumption with manual commits, admin calls."""

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import ConsumerRecord

from shared.kafka.topics import load_topics
from shared.settings import KafkaSettings


async def test_idempotent_produce_group_consume_commit_and_admin(kafka_settings: KafkaSettings) -> None:
    options = kafka_settings.client_options()
    topic, group = f"compat.{uuid.uuid4().hex[:8]}", f"compat-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
        producer = AIOKafkaProducer(**options, enable_idempotence=True, acks="all")
        await producer.start()
        try:
            for n in range(20):
                await producer.send_and_wait(
                    topic, f"event-{n}".encode(), key=b"dossier-1", headers=[("ce_type", b"dossier.accepted")]
                )
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            topic,
            **options,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=6000,
        )
        await consumer.start()
        try:
            received: list[ConsumerRecord[bytes, bytes]] = []
            while len(received) < 20:
                for records in (await consumer.getmany(timeout_ms=5000)).values():
                    received.extend(records)
            await consumer.commit()
            partition = TopicPartition(topic, received[0].partition)
            assert await consumer.committed(partition) == 20
        finally:
            await consumer.stop()

        # One key, one partition, in the order sent; headers intact.
        assert [r.value for r in received] == [f"event-{n}".encode() for n in range(20)]
        assert {r.partition for r in received} == {partition.partition}
        assert received[0].headers == (("ce_type", b"dossier.accepted"),)

        assert (group, "consumer") in await admin.list_consumer_groups()
        offsets = await admin.list_consumer_group_offsets(group)
        assert offsets[partition].offset == 20
        await admin.delete_topics([topic])
    finally:
        await admin.close()


async def test_the_defined_topics_exist_with_their_partitions_and_configuration(
    kafka_settings: KafkaSettings,
) -> None:
    catalogue = load_topics()
    admin = AIOKafkaAdminClient(**kafka_settings.client_options())
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics(catalogue.names())}
        configs = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in catalogue.names()]
        )
    finally:
        await admin.close()
    actual = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}
        for response in configs
        for resource in response.resources
    }
    for topic in catalogue.topics:
        assert len(described[topic.name]["partitions"]) == topic.partitions
        for key, value in catalogue.topic_config(topic, "local").items():
            assert actual[topic.name][key] == value, (topic.name, key)
