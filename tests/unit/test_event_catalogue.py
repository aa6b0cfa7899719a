"""The catalogue against design.md's table: every event type, its producer and topic, its preconditions, who
did it, no personal data outside the contacts topic, and every example through the envelope and back."""

from __future__ import annotations

import json
import re
import types
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, ValidationError

from shared.events.catalogue import (
    CATALOGUE,
    SUBSCRIPTIONS,
    DossierStatus,
    EventSpec,
    consumed_by,
    is_tombstone,
    spec_for,
    specs_on,
)
from shared.events.catalogue.common import Actor
from shared.events.envelope import Envelope, dataschema_of, source_of
from shared.events.examples import example_envelope, examples
from shared.kafka.topics import load_topics
from shared.logging import PERSONAL_ID

INTAKE, CONTACTS, ROUTING = "lienthong.intake.v1", "lienthong.intake.contacts.v1", "lienthong.routing.v1"
NOTIFICATION, POSTAL = "lienthong.notification.v1", "lienthong.postal.v1"

# design.md, "Shape": what each service publishes, and where.
DESIGN: dict[str, tuple[str, list[str]]] = {
    INTAKE: (
        "intake",
        [
            "dossier.submitted",
            "dossier.pickup-requested",
            "dossier.accepted",
            "dossier.refused",
            "dossier.reception-supplement-requested",
            "dossier.supplement-received",
            "dossier.obligation-paid",
            "dossier.withdrawal-requested",
            "dossier.result-handed-over",
        ],
    ),
    CONTACTS: ("intake", ["contact.recorded", "contact.erased"]),
    ROUTING: (
        "routing",
        [
            "dossier.processing-started",
            "step.transferred",
            "step.completed",
            "dossier.supplement-requested",
            "dossier.supplement-resumed",
            "dossier.obligation-requested",
            "dossier.obligation-settled",
            "dossier.withdrawn",
            "dossier.stopped",
            "dossier.near-due",
            "dossier.overdue",
            "dossier.apology-issued",
            "dossier.result-ready",
            "dossier.result-returned",
            "fact.rejected",
        ],
    ),
    NOTIFICATION: (
        "notification",
        ["notification.sent", "notification.delivered", "notification.failed", "survey.answered"],
    ),
    POSTAL: (
        "postal",
        [
            "shipment.pickup-scheduled",
            "shipment.picked-up",
            "shipment.handed-to-agency",
            "shipment.dispatched",
            "shipment.delivered",
            "shipment.delivery-failed",
            "shipment.returned-to-agency",
        ],
    ),
}
S = DossierStatus
# Every event that changes a dossier's status, and the status it moves to (domain.md, "Lifecycle and statuses").
STATUS_CHANGES = {
    "dossier.submitted": S.SUBMITTED_ONLINE,
    "dossier.accepted": S.ACCEPTED,
    "dossier.refused": S.REFUSED,
    "dossier.processing-started": S.PROCESSING,
    "dossier.supplement-requested": S.SUPPLEMENT_REQUESTED,
    "dossier.supplement-resumed": S.PROCESSING,
    "dossier.obligation-requested": S.OBLIGATION_REQUESTED,
    "dossier.obligation-settled": S.PROCESSING,
    "dossier.withdrawn": S.WITHDRAWN,
    "dossier.stopped": S.STOPPED,
    "dossier.result-ready": S.RESULT_READY,
    "dossier.result-returned": S.RESULT_RETURNED,
}
# Acts of a staff member (actor required), and acts an applicant may also do online (actor none then).
STAFF_ACTS = {
    "dossier.accepted",
    "dossier.refused",
    "dossier.reception-supplement-requested",
    "dossier.result-handed-over",
    "step.transferred",
    "step.completed",
    "dossier.supplement-requested",
    "dossier.obligation-requested",
    "dossier.stopped",
    "dossier.apology-issued",
    "dossier.result-ready",
    "shipment.handed-to-agency",
}
RECORDED_ACTS = {"dossier.supplement-received", "dossier.obligation-paid", "dossier.withdrawal-requested"}

# A field whose name contains one of these holds personal data.
PERSONAL = (
    "name",
    "phone",
    "mobile",
    "email",
    "address",
    "street",
    "personal_id",
    "id_number",
    "citizen",
    "passport",
    "tax_code",
    "birth",
)
SPECS = list(CATALOGUE.values())


def by_type(spec: EventSpec) -> str:
    return spec.event_type


def nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in get_args(annotation):
        yield from nested_models(argument)


def personal_fields(model: type[BaseModel], path: str = "") -> list[str]:
    found = []
    for name, field in model.model_fields.items():
        names = {name, field.alias or name}
        if any(fragment in candidate.lower() for fragment in PERSONAL for candidate in names):
            found.append(path + name)
        for nested in nested_models(field.annotation):
            found += personal_fields(nested, f"{path}{name}.")
    return found


def undescribed_fields(model: type[BaseModel], path: str = "") -> list[str]:
    found = []
    for name, field in model.model_fields.items():
        if not field.description:
            found.append(path + name)
        for nested in nested_models(field.annotation):
            found += undescribed_fields(nested, f"{path}{name}.")
    return found


def allows_none(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def test_every_event_type_of_the_design_is_catalogued_with_its_producer_and_topic() -> None:
    expected = {event_type: (producer, topic) for topic, (producer, names) in DESIGN.items() for event_type in names}
    assert {spec.event_type: (spec.producer, spec.topic) for spec in SPECS} == expected


def test_every_topic_of_the_catalogue_is_defined_with_the_same_producer() -> None:
    definitions = {topic.name: topic for topic in load_topics().topics}
    for spec in SPECS:
        assert definitions[spec.topic].producer == spec.producer, spec.event_type


def test_spec_for_and_specs_on_find_the_specs() -> None:
    accepted = spec_for("dossier.accepted")
    assert accepted is not None
    assert accepted.topic == INTAKE
    assert accepted.model.event_type == "dossier.accepted"
    assert accepted.version == 1
    assert spec_for("dossier.teleported") is None
    assert [spec.event_type for spec in specs_on(CONTACTS)] == ["contact.recorded", "contact.erased"]
    assert specs_on("lienthong.rules.v1") == []


@pytest.mark.parametrize("spec", SPECS, ids=by_type)
def test_event_types_are_dotted_past_tense_names_with_hyphens(spec: EventSpec) -> None:
    assert re.fullmatch(r"[a-z]+\.[a-z]+(-[a-z]+)*", spec.event_type)
    assert spec.model.event_type == spec.event_type
    assert spec.version >= 1


@pytest.mark.parametrize("spec", SPECS, ids=by_type)
def test_every_status_change_states_its_precondition(spec: EventSpec) -> None:
    fields = spec.model.model_fields
    if spec.event_type not in STATUS_CHANGES:
        assert "status_from" not in fields
        assert "status_to" not in fields
        return
    assert fields["status_from"].is_required(), "status_from is stated, even when it is none"
    assert allows_none(fields["status_from"].annotation)
    assert fields["status_to"].is_required()
    data = examples()[spec.event_type].model_dump(mode="json")
    assert data["status_to"] == STATUS_CHANGES[spec.event_type]
    assert spec.model.model_validate(data).status_to is STATUS_CHANGES[spec.event_type]  # type: ignore[attr-defined]
    wrong = next(status for status in DossierStatus if status != STATUS_CHANGES[spec.event_type])
    with pytest.raises(ValidationError):
        spec.model.model_validate({**data, "status_to": int(wrong)})


@pytest.mark.parametrize("spec", SPECS, ids=by_type)
def test_every_human_action_names_its_actor(spec: EventSpec) -> None:
    actor = spec.model.model_fields.get("actor")
    if spec.event_type in STAFF_ACTS:
        assert actor is not None
        assert actor.annotation is Actor
        assert actor.is_required()
    elif spec.event_type in RECORDED_ACTS:
        assert actor is not None
        assert allows_none(actor.annotation)
        assert Actor in get_args(actor.annotation)


@pytest.mark.parametrize("spec", [spec for spec in SPECS if spec.topic != CONTACTS], ids=by_type)
def test_no_lifecycle_event_carries_personal_data(spec: EventSpec) -> None:
    assert personal_fields(spec.model) == []
    text = json.dumps(examples()[spec.event_type].model_dump(mode="json"), ensure_ascii=False)
    assert not PERSONAL_ID.search(text), "a 12-digit personal ID number"
    assert not re.search(r"[^@\s\"]+@[^@\s\"]+\.\w+", text), "an email address"


def test_the_personal_data_check_finds_the_contact_record() -> None:
    contact = spec_for("contact.recorded")
    assert contact is not None
    assert {"full_name", "phone", "email", "postal_address", "postal_address.street"} <= set(
        personal_fields(contact.model)
    )


@pytest.mark.parametrize("spec", SPECS, ids=by_type)
def test_every_field_is_described_for_the_generated_documentation(spec: EventSpec) -> None:
    assert spec.model.__doc__
    assert undescribed_fields(spec.model) == []


@pytest.mark.parametrize("spec", SPECS, ids=by_type)
def test_every_example_round_trips_through_the_envelope(spec: EventSpec) -> None:
    event = examples()[spec.event_type]
    tombstone = is_tombstone(spec)
    envelope = Envelope(
        id=f"example-{spec.event_type}",
        source=source_of(spec.producer),
        type=spec.event_type,
        time=datetime.fromisoformat("2026-03-02T08:40:00+07:00"),
        subject="H21.65-260302-0011",
        dataschema=dataschema_of(spec.event_type, spec.version),
        dossierid="22e7653c-fe76-5b5e-a665-171fba60c338",
        dossierseq=3,
        data=None if tombstone else event.model_dump(mode="json"),
        causationid="3acee1b1-2d3c-5698-883e-176fa2c58835",
    )
    received = Envelope.from_record(envelope.key(), envelope.value(), envelope.headers())
    assert received == envelope
    assert received.is_tombstone is tombstone
    parsed = spec_for(received.type)
    assert parsed is not None
    assert parsed.model.model_validate(received.data or {}) == event
    assert received.dataschema == f"urn:lienthong:schema:{spec.event_type}:v{spec.version}"


@pytest.mark.parametrize("spec", SPECS, ids=by_type)
def test_a_consumer_ignores_fields_added_by_a_newer_producer(spec: EventSpec) -> None:
    data = example_envelope(spec).data or {}
    assert spec.model.model_validate({**data, "added_in_a_later_release": {"x": 1}}) == examples()[spec.event_type]


def test_instants_must_carry_a_timezone_and_are_held_in_utc() -> None:
    data = examples()["dossier.accepted"].model_dump(mode="json")
    accepted = spec_for("dossier.accepted")
    assert accepted is not None
    assert data["received_at"] == "2026-03-02T01:15:00Z"  # 08:15 in Vietnam
    with pytest.raises(ValidationError, match="timezone"):
        accepted.model.model_validate({**data, "received_at": "2026-03-02T08:15:00"})


def test_only_a_tombstone_has_no_fields() -> None:
    assert [spec.event_type for spec in SPECS if is_tombstone(spec)] == ["contact.erased"]
    erased = spec_for("contact.erased")
    assert erased is not None
    assert erased.model.model_fields == {}
    assert example_envelope(erased).value() is None


def invalid(event_type: str, **changes: Any) -> None:
    spec = spec_for(event_type)
    assert spec is not None
    with pytest.raises(ValidationError):
        spec.model.model_validate({**examples()[event_type].model_dump(mode="json"), **changes})


def test_the_models_refuse_what_the_rules_forbid() -> None:
    invalid("dossier.supplement-requested", second_request=True, second_request_reason=None)
    head = {"staff_id": "staff-1", "agency_code": "H21.65", "role": "processing"}
    invalid("dossier.apology-issued", signed_by=head)
    invalid("shipment.delivered", carrier_order_number="H21.65-260302-0011-NH")  # a return ends with -TR
    invalid("survey.answered", levels=3, rating=4)
    invalid("contact.recorded", notify_by="email", email=None)
    invalid("dossier.accepted", dossier_code="0011")
    invalid("dossier.obligation-paid", amount_vnd=-1)
    invalid("dossier.reception-supplement-requested", items=[])


def test_every_subscription_names_catalogued_topics_and_types() -> None:
    assert set(SUBSCRIPTIONS) == {f"lienthong.{service}" for service in ("intake", "routing", "notification", "postal")}
    for group, subscribed in SUBSCRIPTIONS.items():
        for topic, wanted in subscribed.items():
            assert specs_on(topic), f"{group} reads {topic}, which carries no catalogued event"
            assert all(spec_for(event_type) for event_type in wanted or ()), f"{group}: a consumed type has no model"
            assert consumed_by(group, topic)
            assert group.removeprefix("lienthong.") != specs_on(topic)[0].producer, "no service reads its own topic"


def test_contacts_are_read_only_by_notification_and_postal() -> None:
    readers = {group for group, subscribed in SUBSCRIPTIONS.items() if CONTACTS in subscribed}
    assert readers == {"lienthong.notification", "lienthong.postal"}


def test_every_lifecycle_topic_is_read_by_someone() -> None:
    read = {topic for subscribed in SUBSCRIPTIONS.values() for topic in subscribed}
    assert read == set(DESIGN)
