"""The consistency checker's proof (tests/fault/consistency.py) finds what it claims to: a clean dossier passes, and
each kind of breach — a lost event, an event applied twice, a gap, an SMS sent twice, email repeats beyond the
uncertain sends, a carrier order created twice, a wrong final status — is counted and named."""

from __future__ import annotations

import uuid
from typing import Any

from shared.events.examples import examples
from tests.fault.consistency import Proof, Record, expected_events, prove
from tests.support.messaging import envelope
from tests.support.topics import CONTACTS, INTAKE, NOTIFICATION, POSTAL, ROUTING, Published, streams_of
from tests.support.workload import Driven, Kind

DOSSIER = str(uuid.uuid4())
TEMPLATED = {"dossier.accepted", "dossier.result-ready"}
ROUTE = ["dossier.processing-started", "step.transferred", "step.completed", "step.transferred", "step.completed",
         "dossier.result-ready", "dossier.result-returned"]  # fmt: skip


EXAMPLES = {event_type: data.model_dump(mode="json") for event_type, data in examples().items()}


def published(topic: str, types: list[str], **data: Any) -> list[Published]:
    """The events on a topic, each with its catalogue example's data (valid against its model), changed by `data`."""
    return [Published(topic, seq, envelope(t, DOSSIER, seq, {**EXAMPLES[t], **data}))
            for seq, t in enumerate(types, start=1)]  # fmt: skip


def counter_dossier(routing: list[str] = ROUTE, **changes: Any) -> Proof:
    """A counter dossier as the stack would record it once back with the applicant; `changes` spoil it."""
    records = [
        *published(INTAKE, ["dossier.accepted", "dossier.result-handed-over"]),
        *published(CONTACTS, ["contact.recorded"]),
        *published(ROUTING, routing),
        *changes.pop("extra", []),
    ]
    streams = {topic: stream for (topic, _), stream in streams_of(records, {DOSSIER}).items()}
    told = [e for s in streams.values() for e in s.events if e.type in TEMPLATED]
    notifications = [{"id": str(uuid.uuid4()), "event_id": e.id, "channel": channel, "status": "delivered",
                      "uncertain_sends": 0} for e in told for channel in ("sms", "email")]  # fmt: skip
    fields: dict[str, Any] = {
        "streams": streams,
        "tracking": {"status": 10, "timeline": [{"event": t} for t in ["dossier.accepted", *ROUTE]]},
        "routing_status": 10,
        "notifications": notifications,
        "sms_sends": {n["id"]: 1 for n in notifications if n["channel"] == "sms"},
        "email_copies": {n["id"]: 1 for n in notifications if n["channel"] == "email"},
        "carrier_creates": {},
    }
    for name, change in changes.items():
        fields[name] = change(fields)
    return prove(Driven(1, Kind.COUNTER, id=DOSSIER, code="H29.101.1-261207-0001"), Record(**fields), TEMPLATED)


def test_a_dossier_recorded_as_expected_is_proved() -> None:
    proof = counter_dossier()
    assert proof.problems == []


def test_an_interagency_dossier_is_expected_with_its_three_steps_and_no_handover_at_the_desk() -> None:
    expected = expected_events(Kind.INTERAGENCY)
    assert expected[INTAKE] == {"dossier.accepted": 1}, "returned electronically"
    assert (expected[ROUTING]["step.transferred"], expected[ROUTING]["step.completed"]) == (3, 3)
    assert POSTAL not in expected


def test_a_missing_event_is_lost_and_an_extra_one_applied_twice() -> None:
    assert counter_dossier(routing=[t for t in ROUTE if t != "dossier.result-ready"]).lost == 1
    assert counter_dossier(routing=[*ROUTE, "step.completed"]).applied_twice == 1


def test_a_gap_in_the_sequence_numbers_is_lost_and_a_repeat_only_counted() -> None:
    gap = [p for p in published(ROUTING, ROUTE) if p.offset != 3]  # offsets follow the sequence numbers here
    assert counter_dossier(routing=[], extra=gap).lost >= 1
    repeat = published(ROUTING, ROUTE)
    proof = counter_dossier(routing=[], extra=[*repeat, repeat[2]])
    assert (proof.topic_repeats, proof.problems) == (1, [])


def test_tracking_showing_an_event_twice_is_applied_twice() -> None:
    def twice(fields: dict[str, Any]) -> dict[str, Any]:
        return {**fields["tracking"], "timeline": [*fields["tracking"]["timeline"], {"event": "step.completed"}]}

    assert counter_dossier(tracking=twice).applied_twice == 1


def test_notifications_missing_doubled_or_said_twice_are_found() -> None:
    assert counter_dossier(notifications=lambda f: f["notifications"][1:]).lost == 1
    sms_twice = counter_dossier(sms_sends=lambda f: {k: 2 for k in f["sms_sends"]})
    assert sms_twice.duplicate_sms == 2
    said_twice = published(NOTIFICATION, ["notification.sent"] * 2, notification_id=str(uuid.uuid4()), attempt=1)
    assert counter_dossier(extra=said_twice).applied_twice == 1


def test_email_repeats_pass_within_the_uncertain_sends_only() -> None:
    def repeated(fields: dict[str, Any]) -> dict[str, int]:
        return {k: 2 for k in fields["email_copies"]}

    assert counter_dossier(email_copies=repeated).problems != []
    uncertain = counter_dossier(email_copies=repeated, notifications=lambda f: [
        {**n, "uncertain_sends": 1} for n in f["notifications"]])  # fmt: skip
    assert (uncertain.email_repeats, uncertain.uncertain_sends, uncertain.problems) == (2, 2, [])


def test_a_carrier_order_created_twice_and_a_wrong_final_status_are_found() -> None:
    assert counter_dossier(carrier_creates=lambda _: {"H29.101.1-261207-0001-TR": 2}).duplicate_orders == 1
    assert counter_dossier(routing_status=lambda _: 9).problems == ["final status: tracking 10, routing 9"]


def test_a_record_that_is_no_event_counts_against_its_own_dossier_only() -> None:
    foreign = Published(ROUTING, 98, None, key="malformed-1", malformed="missing CloudEvents attributes")
    ours = Published(ROUTING, 99, None, key=DOSSIER, malformed="missing CloudEvents attributes")
    assert counter_dossier(extra=[foreign]).problems == []
    assert counter_dossier(extra=[ours]).problems == [f"{ROUTING}: offset 99: missing CloudEvents attributes"]
