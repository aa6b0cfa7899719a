"""What the admin endpoints show of a dead letter: the contacts topic's data never (it is the applicant's personal
data), and personal data quoted in an error redacted, as in the logs."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.consumer.store import DeadLetter, StoredRecord
from shared.events.catalogue import contacts, intake
from shared.operations.api import WITHHELD, dead_letter_view

AT = datetime(2026, 12, 2, 2, tzinfo=UTC)
HEADERS = (("ce_subject", b"H29.101.1-261202-0001"), ("ce_type", b"contact.recorded"))


def dead_letter(topic: str, value: bytes, error: str) -> DeadLetter:
    record = StoredRecord(topic, 3, 17, b"d-1", HEADERS, value)
    return DeadLetter(7, "e-1", "contact.recorded", "d-1", 2, error, 4, AT, None, None, record)


def test_a_contact_dead_letter_shows_no_personal_data() -> None:
    value = b'{"full_name": "V\\u00f5 Th\\u1ecb H\\u1ea1nh", "phone": "0978123456", "email": "hanh.vo@example.org"}'
    error = "ValidationError: phone: input_value='0978123456', email: input_value='hanh.vo@example.org'"
    view = dead_letter_view("lienthong.notification", dead_letter(contacts.TOPIC, value, error), with_data=True)
    assert view["data"] == WITHHELD
    assert "0978123456" not in str(view)
    assert "hanh.vo@example.org" not in str(view)
    assert view["dossier_code"] == "H29.101.1-261202-0001"
    assert (view["topic"], view["partition"], view["offset"], view["seq"]) == (contacts.TOPIC, 3, 17, 2)


def test_a_lifecycle_dead_letter_shows_its_data_and_a_malformed_one_its_text() -> None:
    shown = dead_letter_view("g", dead_letter(intake.TOPIC, b'{"step_id": "register"}', "KeyError"), with_data=True)
    assert shown["data"] == {"step_id": "register"}
    malformed = dead_letter_view("g", dead_letter(intake.TOPIC, b"{not json", "malformed"), with_data=True)
    assert malformed["data"] == "{not json"
    assert "data" not in dead_letter_view("g", dead_letter(intake.TOPIC, b"{}", "x"))
