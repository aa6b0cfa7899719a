"""The catalogue of every event type (design.md, "The event contract"): its model, its producer, its topic; and
which consumer group reads which topic.

    spec_for("dossier.accepted")        -> EventSpec(model=DossierAccepted, producer="intake", ...)
    specs_on("lienthong.routing.v1")    -> the specs of every event type on that topic

The JSON Schemas in shared/events/schemas/ and docs/asyncapi.yaml are generated from it (`make events`).
"""

from __future__ import annotations

from types import ModuleType

from shared.events.catalogue import contacts, intake, notification, postal, routing
from shared.events.catalogue.base import DossierStatus, EventData, EventSpec

__all__ = [
    "CATALOGUE",
    "SUBSCRIPTIONS",
    "DossierStatus",
    "EventData",
    "EventSpec",
    "consumed_by",
    "is_tombstone",
    "spec_for",
    "specs_on",
    "topics",
]

_MODULES: tuple[ModuleType, ...] = (intake, contacts, routing, notification, postal)


def _build() -> dict[str, EventSpec]:
    catalogue: dict[str, EventSpec] = {}
    for module in _MODULES:
        for model in module.MODELS:
            if model.event_type in catalogue:
                raise RuntimeError(f"event type {model.event_type} is defined twice")
            catalogue[model.event_type] = EventSpec(model.event_type, model, module.PRODUCER, module.TOPIC)
    return catalogue


CATALOGUE: dict[str, EventSpec] = _build()

# Which topics each consumer group (`lienthong.<service>`) reads, and which event types it handles there
# (None: every type on the topic). From design.md's table, "Shape".
SUBSCRIPTIONS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "lienthong.intake": {  # to keep the public tracking view
        routing.TOPIC: None,
        postal.TOPIC: None,
        notification.TOPIC: None,
    },
    "lienthong.routing": {
        intake.TOPIC: None,
        postal.TOPIC: ("shipment.delivered", "shipment.returned-to-agency"),
        notification.TOPIC: ("survey.answered",),
    },
    "lienthong.notification": {
        intake.TOPIC: None,
        contacts.TOPIC: None,
        routing.TOPIC: None,
        postal.TOPIC: None,
    },
    "lienthong.postal": {
        intake.TOPIC: None,
        contacts.TOPIC: None,
        routing.TOPIC: None,
    },
}


def spec_for(event_type: str) -> EventSpec | None:
    return CATALOGUE.get(event_type)


def specs_on(topic: str) -> list[EventSpec]:
    return [spec for spec in CATALOGUE.values() if spec.topic == topic]


def topics() -> list[str]:
    """Every topic that carries catalogued events, in catalogue order."""
    return list(dict.fromkeys(spec.topic for spec in CATALOGUE.values()))


def consumed_by(group: str, topic: str) -> list[EventSpec]:
    """The event types a consumer group handles on a topic."""
    wanted = SUBSCRIPTIONS[group].get(topic, ())
    return [spec for spec in specs_on(topic) if wanted is None or spec.event_type in wanted]


def is_tombstone(spec: EventSpec) -> bool:
    """Whether the event travels as a record with no value (it erases its key on a compacted topic)."""
    return bool(getattr(spec.model, "tombstone", False))
