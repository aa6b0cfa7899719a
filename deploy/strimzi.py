"""The production topics and Kafka users (with their ACLs) as Strimzi resources, generated from the code:

    python -m deploy.strimzi > deploy/kubernetes/kafka.yaml

Why Strimzi's KafkaTopic/KafkaUser rather than a `kafka-topics`/`kafka-acls` script: the operator reconciles them
(a topic or ACL changed by hand is put back; a user's SCRAM password is generated into a Secret the Deployments
read), and they are plain manifests applied with the rest of deploy/kubernetes/. A script would run once and drift.

Everything comes from definitions the code already has, so nothing is copied by hand: partitions, configs and
producers from deploy/topics.yaml (with its production replication and min.insync.replicas), who reads which topic
from the event catalogue's SUBSCRIPTIONS, and the consumer groups and dead-letter topics from their naming rule
(`lienthong.<service>`, `<group>.dlq`). tests/unit/test_kubernetes_manifests.py fails when the committed file is not
this module's output.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from deploy.local.settings import SERVICES
from shared.events.catalogue import SUBSCRIPTIONS
from shared.kafka.topics import TopicCatalogue, load_topics
from shared.operations.commands import LIFECYCLE_TOPICS

CLUSTER = "lienthong"  # the Strimzi `Kafka` resource; its bootstrap service is `lienthong-kafka-bootstrap`
RULES_TOPIC = "lienthong.rules.v1"
# The services that follow the published rules (`rules_worker` in their __main__; a test checks this list).
RULES_READERS = ("intake", "routing", "postal")
# Kafka 3.0+ implies IdempotentWrite from Write on a topic (KIP-679), so the idempotent producers need no cluster ACL.
WRITE = ["Write", "Describe"]
READ = ["Read", "Describe"]


def group_of(service: str) -> str:
    return f"lienthong.{service}"


def user_of(service: str) -> str:
    return f"lienthong-{service}"


def _acl(kind: str, name: str, operations: list[str], pattern: str = "literal") -> dict[str, Any]:
    return {"resource": {"type": kind, "name": name, "patternType": pattern}, "operations": operations}


def _metadata(name: str, component: str) -> dict[str, Any]:
    return {
        "name": name,
        "labels": {"strimzi.io/cluster": CLUSTER, "app.kubernetes.io/part-of": "lienthong",
                   "app.kubernetes.io/component": component},
    }  # fmt: skip


def topic_resources(catalogue: TopicCatalogue) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaTopic",
            "metadata": _metadata(topic.name, "topic"),
            "spec": {
                "partitions": topic.partitions,
                "replicas": catalogue.replication["production"],
                "config": catalogue.topic_config(topic, "production"),
            },
        }
        for topic in catalogue.topics
    ]


def service_acls(service: str, catalogue: TopicCatalogue) -> list[dict[str, Any]]:
    """A service writes only its own topics and its dead-letter topic, and reads only what its group subscribes to
    (so the contacts topic only where the catalogue says: notification and postal)."""
    group = group_of(service)
    acls = [_acl("topic", topic.name, WRITE) for topic in catalogue.topics if topic.producer == service]
    acls += [_acl("topic", topic, READ) for topic in SUBSCRIPTIONS[group]]
    if service in RULES_READERS:
        acls.append(_acl("topic", RULES_TOPIC, READ))  # read without a group: every process reads it all
    acls.append(_acl("group", group, ["Read", "Describe"]))
    return acls


def user_resources(catalogue: TopicCatalogue) -> list[dict[str, Any]]:
    contacts = [topic.name for topic in catalogue.topics if "contacts" in topic.name]
    users = [
        {
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaUser",
            "metadata": _metadata(user_of(service), service),
            "spec": {
                "authentication": {"type": "scram-sha-512"},
                "authorization": {"type": "simple", "acls": service_acls(service, catalogue)},
            },
        }
        for service in SERVICES
    ]
    # KEDA's Kafka scaler compares the groups' committed offsets with the ends of their topics: Describe only.
    keda = [_acl("topic", "lienthong.", ["Describe"], "prefix"), _acl("group", "lienthong.", ["Describe"], "prefix")]
    # The operator's `lienthong` command (tail, timeline, lag, topics): every topic but the contacts, which stay
    # readable by notification and postal only. It reads as an observer (no group, nothing committed: see
    # shared/kafka/reading.py) and writes nothing: a dead letter is replayed by its service, not through the broker.
    operator = [_acl("topic", topic.name, [*READ, "DescribeConfigs"]) for topic in catalogue.topics
                if topic.name not in contacts]  # fmt: skip
    operator.append(_acl("group", "lienthong.", ["Describe"], "prefix"))
    # The web console's live stream: the lifecycle topics, read as an observer like the operator's `tail`; never the
    # contacts topic, nor a dead-letter topic (its dead letters come from each service's admin API).
    console = [_acl("topic", topic.name, READ) for topic in catalogue.topics
               if topic.name in LIFECYCLE_TOPICS]  # fmt: skip
    # `lienthong rules publish` reads what is published already and adds what is new.
    publisher = [_acl("topic", RULES_TOPIC, [*READ, "Write"])]
    for name, acls in (("lienthong-keda", keda), ("lienthong-operator", operator), (user_of("console"), console),
                       ("lienthong-rules", publisher)):  # fmt: skip
        users.append({
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaUser",
            "metadata": _metadata(name, "operations"),
            "spec": {"authentication": {"type": "scram-sha-512"}, "authorization": {"type": "simple", "acls": acls}},
        })  # fmt: skip
    return users


HEADER = """\
# GENERATED by `python -m deploy.strimzi > deploy/kubernetes/kafka.yaml` from deploy/topics.yaml and the event
# catalogue's subscriptions: do not edit by hand (tests/unit/test_kubernetes_manifests.py compares).
# Strimzi (kafka.strimzi.io/v1) topics, replication 3 and min.insync.replicas 2, and one SCRAM-SHA-512 user per
# service with its ACLs; the User Operator writes each user's password into a Secret of the same name.
"""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # plain YAML for readers and for kubectl: no &anchors for the shared operation lists


def render(catalogue: TopicCatalogue | None = None) -> str:
    catalogue = catalogue or load_topics()
    documents = topic_resources(catalogue) + user_resources(catalogue)
    return HEADER + yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, explicit_start=True, width=120)


if __name__ == "__main__":
    sys.stdout.write(render())
