from shared.kafka.topics import load_topics

LIFECYCLE = [
    "lienthong.intake.v1",
    "lienthong.routing.v1",
    "lienthong.notification.v1",
    "lienthong.postal.v1",
]
SERVICES = ["intake", "routing", "notification", "postal"]


def test_each_service_has_its_lifecycle_topic_with_12_partitions_kept_forever() -> None:
    topics = {topic.name: topic for topic in load_topics().topics}
    for name in LIFECYCLE:
        assert topics[name].partitions == 12
        assert topics[name].config["retention.ms"] == -1
        assert topics[name].config["cleanup.policy"] == "delete"
        assert topics[name].producer == name.split(".")[1]


def test_contacts_and_rules_topics_are_compacted() -> None:
    topics = {topic.name: topic for topic in load_topics().topics}
    assert topics["lienthong.intake.contacts.v1"].config["cleanup.policy"] == "compact"
    assert topics["lienthong.intake.contacts.v1"].partitions == 12
    assert topics["lienthong.rules.v1"].config["cleanup.policy"] == "compact"


def test_every_consumer_group_has_a_dead_letter_topic() -> None:
    names = load_topics().names()
    assert all(f"lienthong.{service}.dlq" in names for service in SERVICES)
    assert len(names) == len(set(names))


def test_min_insync_replicas_never_exceeds_the_replication_of_the_environment() -> None:
    catalogue = load_topics()
    topic = catalogue.topics[0]
    assert catalogue.topic_config(topic, "local")["min.insync.replicas"] == "1"
    assert catalogue.topic_config(topic, "production")["min.insync.replicas"] == "2"
    assert catalogue.replication == {"local": 1, "production": 3}
