"""Notification's rules without I/O: channels, quiet hours, the SMS limit, and what a send's answer leads to."""

from datetime import UTC, datetime, time, timedelta

import pytest

from services.notification.domain import (
    DELIVERED,
    PERMANENT,
    SENDING,
    TECHNICAL,
    Limits,
    Recipient,
    after_quiet_hours,
    after_send,
    fallback_email,
    recipients,
    sms_allowed_at,
)
from services.notification.providers import SendOutcome, SendResult
from shared.calendar.zone import ZONE
from shared.events.catalogue.contacts import ContactRecorded

LIMITS = Limits(quiet_from=time(21), quiet_until=time(7), sms_per_hour=3, retry_delays_s=(10, 60))
NOW = datetime(2026, 12, 2, 10, tzinfo=ZONE)


def contact(notify_by: str = "both", email: str | None = "an@example.org") -> ContactRecorded:
    return ContactRecorded(applicant_kind="citizen", full_name="An", phone="0912345678", email=email,
                           notify_by=notify_by, recorded_at=NOW)  # fmt: skip


def test_the_applicant_chooses_the_channels_and_an_sms_falls_back_to_email() -> None:
    assert recipients(contact("both")) == [Recipient("sms", "0912345678"), Recipient("email", "an@example.org")]
    assert recipients(contact("sms", None)) == [Recipient("sms", "0912345678")]
    assert fallback_email(contact("sms"), "sms") == Recipient("email", "an@example.org")
    assert fallback_email(contact("sms", None), "sms") is None
    assert fallback_email(contact(), "email") is None, "an email that fails has nothing to fall back to"


@pytest.mark.parametrize(
    ("local", "allowed"),
    [
        (datetime(2026, 12, 2, 10, 0), datetime(2026, 12, 2, 10, 0)),
        (datetime(2026, 12, 2, 21, 0), datetime(2026, 12, 3, 7, 0)),
        (datetime(2026, 12, 2, 23, 59), datetime(2026, 12, 3, 7, 0)),
        (datetime(2026, 12, 3, 6, 59), datetime(2026, 12, 3, 7, 0)),
        (datetime(2026, 12, 3, 7, 0), datetime(2026, 12, 3, 7, 0)),
    ],
)
def test_optional_messages_wait_for_the_end_of_the_quiet_hours(local: datetime, allowed: datetime) -> None:
    assert after_quiet_hours(LIMITS, local.replace(tzinfo=ZONE)) == allowed.replace(tzinfo=ZONE)


def test_quiet_hours_within_one_day_also_work() -> None:
    lunch = Limits(quiet_from=time(11, 30), quiet_until=time(13), sms_per_hour=3, retry_delays_s=())
    assert after_quiet_hours(lunch, NOW.replace(hour=12)) == NOW.replace(hour=13)
    assert after_quiet_hours(lunch, NOW.replace(hour=14)) == NOW.replace(hour=14)


def test_the_fourth_sms_in_an_hour_waits_until_the_oldest_leaves_the_hour() -> None:
    sent = [NOW - timedelta(minutes=m) for m in (50, 20, 5)]
    assert sms_allowed_at(LIMITS, NOW, sent[1:]) == NOW
    assert sms_allowed_at(LIMITS, NOW, sent) == NOW + timedelta(minutes=10)


def result(outcome: SendOutcome, uncertain: bool = False) -> SendResult:
    return SendResult("ott", outcome, uncertain=uncertain)


def test_what_an_answer_makes_of_a_notification() -> None:
    now = datetime(2026, 12, 2, 3, tzinfo=UTC)
    assert after_send(LIMITS, "sms", result(SendOutcome.ACCEPTED), 1, now).status == SENDING, "a receipt will come"
    assert after_send(LIMITS, "email", result(SendOutcome.ACCEPTED), 1, now).status == DELIVERED
    assert after_send(LIMITS, "sms", result(SendOutcome.PERMANENT_FAILURE), 1, now).retry_at is None
    retried = after_send(LIMITS, "sms", result(SendOutcome.TECHNICAL_FAILURE), 2, now)
    assert (retried.status, retried.retry_at) == (TECHNICAL, now + timedelta(seconds=60))
    final = after_send(LIMITS, "sms", result(SendOutcome.TEMPORARY_FAILURE), 3, now)
    assert final.retry_at is None, "two retries, then final"
    assert after_send(LIMITS, "sms", result(SendOutcome.PERMANENT_FAILURE), 1, now).status == PERMANENT
