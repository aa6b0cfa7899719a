"""The AsyncAPI 3.0.0 document of the whole catalogue (docs/asyncapi.yaml), built from the models, the topic
definitions (deploy/topics.yaml) and the subscriptions of the consumer groups.

Channels are the topics; messages are the event types, each with its payload (the model's JSON Schema; the
nested models are shared under components/schemas), its CloudEvents headers and an example; operations are one
`send` per producer and topic and one `receive` per consumer group and topic, with the group's id in the Kafka
binding.
"""

from __future__ import annotations

import inspect
import json
from functools import cache
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

from shared.events.catalogue import CATALOGUE, SUBSCRIPTIONS, EventSpec, consumed_by, is_tombstone, specs_on, topics
from shared.events.envelope import CONTENT_TYPE, HEADER_PREFIX, REQUIRED, SPECVERSION, dataschema_of, source_of
from shared.events.examples import example_envelope
from shared.kafka.topics import load_topics

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING = "0.5.0"
DOCUMENT_VERSION = "1.0.0"  # the contract of the .v1 topics

DESCRIPTION = """\
The dossier lifecycle events of lienthong, the one-stop, interconnected handling (một cửa liên thông) of \
administrative dossiers: what intake, routing, notification and postal publish and consume on Apache Kafka.

- **One topic per producing service**; a breaking change makes a `.v2` topic. Within a version only new \
optional fields are added: ignore the fields you do not know.
- **Record key = dossier id.** A dossier's events are in order within one topic, never across topics: every \
event states its precondition (`status_from` / `status_to` where it changes the status, `ce_causationid`), and a \
consumer applies it only when its own state meets that precondition.
- **Envelope: CloudEvents 1.0, binary content mode** of the Kafka protocol binding: the attributes are `ce_*` \
headers, `data` is the JSON value. `ce_subject` is the dossier code, `ce_dataschema` the versioned schema \
(`urn:lienthong:schema:<type>:v<version>`, committed in shared/events/schemas/).
- **At least once**: the same event can arrive twice; deduplicate by `ce_id` (or by `ce_dossierid` + \
`ce_dossierseq`, strictly increasing from 1 per dossier and per topic).
- **No personal data on lifecycle topics.** Names, phones, emails and addresses travel only on \
`lienthong.intake.contacts.v1` (compacted, readable by notification and postal only) and are erased by a \
tombstone: a record with no value whose `ce_type` is `contact.erased`.
- Statuses are the national portal's codes: 1 submitted online, 2 accepted, 3 refused, 4 processing, \
5 supplement requested, 6 financial obligation requested, 7 withdrawn, 8 stopped, 9 result ready, \
10 result returned.
"""


def document() -> dict[str, Any]:
    """The AsyncAPI document as a mapping, in a stable order."""
    schemas, payloads = _schemas()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "lienthong dossier lifecycle events",
            "version": DOCUMENT_VERSION,
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The broker of the local stack (`make up`).",
            }
        },
        "channels": _channels(),
        "operations": _operations(),
        "components": {
            "messages": {spec.event_type: _message(spec, payloads) for spec in CATALOGUE.values()},
            "schemas": schemas,
        },
    }


def render(asyncapi: dict[str, Any]) -> str:
    return yaml.dump(asyncapi, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


# What every service serves at /asyncapi.yaml and /asyncapi.json: built from the catalogue in memory, once per
# process (the container image has no docs/ folder), and the same text as the committed docs/asyncapi.yaml.
@cache
def served_yaml() -> str:
    return render(document())


@cache
def served_json() -> str:
    return json.dumps(document(), ensure_ascii=False)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # no YAML anchors: every part of the document reads on its own
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Several lines as a literal block, as written."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def _schemas() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """All models' JSON Schemas at once, so that shared nested models appear once under components/schemas."""
    models = [spec.model for spec in CATALOGUE.values() if not is_tombstone(spec)]
    refs, definitions = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    payloads = {model.event_type: refs[(model, "validation")] for model in models}
    schemas = {name: _sorted(schema) for name, schema in sorted(definitions.get("$defs", {}).items())}
    return schemas, payloads


def _channels() -> dict[str, Any]:
    definitions = {topic.name: topic for topic in load_topics().topics}
    channels: dict[str, Any] = {}
    for topic in topics():
        definition = definitions[topic]
        channels[topic] = {
            "address": topic,
            "title": topic,
            "description": definition.purpose.capitalize() + ".",
            "messages": {spec.event_type: _ref("components", "messages", spec.event_type) for spec in specs_on(topic)},
            "bindings": {
                "kafka": {
                    "partitions": definition.partitions,
                    "topicConfiguration": {
                        "cleanup.policy": [str(definition.config["cleanup.policy"])],
                        "retention.ms": int(definition.config["retention.ms"]),
                    },
                    "bindingVersion": KAFKA_BINDING,
                }
            },
        }
    return channels


def _operations() -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for topic in topics():
        producer = specs_on(topic)[0].producer
        operations[f"{producer}.send.{topic}"] = {
            "action": "send",
            "channel": _ref("channels", topic),
            "title": f"{producer} publishes on {topic}",
            "summary": f"The {producer} service publishes these events, through its transactional outbox.",
            "messages": [_ref("channels", topic, "messages", spec.event_type) for spec in specs_on(topic)],
        }
    for group, subscribed in SUBSCRIPTIONS.items():
        service = group.removeprefix("lienthong.")
        for topic in subscribed:
            operations[f"{service}.receive.{topic}"] = {
                "action": "receive",
                "channel": _ref("channels", topic),
                "title": f"{service} consumes {topic}",
                "summary": f"Consumer group {group} applies these events (offsets committed after its transaction).",
                "description": f"Consumer group `{group}`; what it cannot apply goes to `{group}.dlq`.",
                "bindings": {
                    "kafka": {"groupId": {"type": "string", "enum": [group]}, "bindingVersion": KAFKA_BINDING}
                },
                "messages": [
                    _ref("channels", topic, "messages", spec.event_type) for spec in consumed_by(group, topic)
                ],
            }
    return operations


def _message(spec: EventSpec, payloads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    description = description_of(spec)
    envelope = example_envelope(spec)
    if is_tombstone(spec):
        payload: dict[str, Any] = {"type": "null", "description": "A tombstone: the record has no value."}
    else:
        payload = payloads[spec.event_type]
    return {
        "name": spec.event_type,
        "title": spec.model.__name__,
        "summary": summary_of(spec),
        "description": description,
        "contentType": CONTENT_TYPE,
        "headers": envelope_headers(spec),
        "payload": payload,
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The dossier id (the ce_dossierid header)."},
                "bindingVersion": KAFKA_BINDING,
            }
        },
        "examples": [
            {
                "name": spec.event_type.replace(".", "-"),
                "summary": f"A {spec.event_type} event.",
                "headers": {name: raw.decode() for name, raw in envelope.headers()},
                "payload": envelope.data,
            }
        ],
    }


def description_of(spec: EventSpec) -> str:
    """When the event is published and what it means: its model's docstring, on one line."""
    return " ".join(inspect.cleandoc(spec.model.__doc__ or "").split())


def summary_of(spec: EventSpec) -> str:
    return description_of(spec).split(". ")[0].rstrip(".") + "."


def envelope_headers(spec: EventSpec) -> dict[str, Any]:
    """The Kafka record headers of an event type: the CloudEvents attributes (binary content mode), as strings.
    docs/events.md describes the envelope with them too."""

    def text(description: str, **keywords: Any) -> dict[str, Any]:
        return {"type": "string", "description": description, **keywords}

    properties = {
        "ce_specversion": text("The CloudEvents version.", const=SPECVERSION),
        "ce_id": text("The event's unique id (the outbox row id); deduplicate by it.", format="uuid"),
        "ce_source": text("The producing service.", const=source_of(spec.producer)),
        "ce_type": text("The event type.", const=spec.event_type),
        "ce_time": text("When the event was recorded (RFC 3339, UTC).", format="date-time"),
        "ce_subject": text("The dossier code (mã hồ sơ)."),
        "ce_dataschema": text(
            "The schema of the value, with its version.", const=dataschema_of(spec.event_type, spec.version)
        ),
        "ce_dossierid": text("The dossier id; also the record key."),
        "ce_dossierseq": text(
            "Position of the event among the dossier's events on this topic, from 1.", pattern="^[1-9][0-9]*$"
        ),
        "ce_causationid": text("Id of the event that caused this one, if any."),
        "ce_traceparent": text("W3C trace context.", pattern="^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"),
        "content-type": text("The content type of the value (CloudEvents datacontenttype).", const=CONTENT_TYPE),
    }
    return {
        "type": "object",
        "properties": properties,
        "required": [HEADER_PREFIX + name for name in REQUIRED] + ["content-type"],
    }


def _ref(*path: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in path)}


def _sorted(value: Any) -> Any:
    """Keys in alphabetical order at every level: the output stays the same whatever order pydantic writes."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value
