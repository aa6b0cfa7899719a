"""Notification's rules, without I/O: who is told on which channel, when a message may go (quiet hours, the SMS
limit per number), what a provider's answer makes of a notification, and when to try again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from services.notification.providers import SendOutcome, SendResult
from shared.calendar.zone import ZONE, local
from shared.events.catalogue.contacts import ContactRecorded
from shared.events.catalogue.notification import FailureKind

# A notification's status (GOV.UK Notify's vocabulary): `sending` covers the call in flight and, for SMS, the wait
# for the delivery receipt; the three failures are final unless a retry is scheduled.
CREATED, SENDING, DELIVERED = "created", "sending", "delivered"
PERMANENT, TEMPORARY, TECHNICAL = "permanent-failure", "temporary-failure", "technical-failure"
FAILURE_KIND = {PERMANENT: FailureKind.PERMANENT, TEMPORARY: FailureKind.TEMPORARY, TECHNICAL: FailureKind.TECHNICAL}
STATUS_OF = {
    SendOutcome.PERMANENT_FAILURE: PERMANENT,
    SendOutcome.TEMPORARY_FAILURE: TEMPORARY,
    SendOutcome.TECHNICAL_FAILURE: TECHNICAL,
}


@dataclass(frozen=True)
class Recipient:
    channel: str  # sms | email
    address: str  # the phone number or the email address


def recipients(contact: ContactRecorded) -> list[Recipient]:
    """Whom to tell on which channel, as the applicant chose (SMS, email or both)."""
    chosen = {"sms": ["sms"], "email": ["email"], "both": ["sms", "email"]}[contact.notify_by]
    return [Recipient(c, contact.phone if c == "sms" else str(contact.email)) for c in chosen]


def fallback_email(contact: ContactRecorded | None, channel: str) -> Recipient | None:
    """Where a message goes when its SMS failed for good: to the email address, if there is one."""
    if channel != "sms" or contact is None or not contact.email:
        return None
    return Recipient("email", contact.email)


@dataclass(frozen=True)
class Limits:
    quiet_from: time  # local time: optional messages wait from here...
    quiet_until: time  # ...to here (the window may span midnight)
    sms_per_hour: int  # to one number
    retry_delays_s: tuple[float, ...]  # the wait before each retry; their count bounds the attempts


def after_quiet_hours(limits: Limits, at: datetime) -> datetime:
    """`at`, or the end of the quiet hours it falls in (local time): an optional message waits, never drops."""
    moment = local(at)
    start, end = limits.quiet_from, limits.quiet_until
    quiet = start <= moment.time() or moment.time() < end if start > end else start <= moment.time() < end
    if not quiet:
        return at
    day = moment.date() + timedelta(days=1) if start > end and moment.time() >= start else moment.date()
    return datetime.combine(day, end, ZONE)


def sms_allowed_at(limits: Limits, now: datetime, sent_last_hour: list[datetime]) -> datetime:
    """`now` if the number got fewer than the limit in the last hour, else when the oldest of them leaves it."""
    if len(sent_last_hour) < limits.sms_per_hour:
        return now
    return sorted(sent_last_hour)[-limits.sms_per_hour] + timedelta(hours=1)


@dataclass(frozen=True)
class Next:
    """What a send's result makes of the notification: its status, and when to try again (none = final)."""

    status: str
    retry_at: datetime | None


def after_send(limits: Limits, channel: str, result: SendResult, attempt: int, now: datetime) -> Next:
    if result.outcome is SendOutcome.ACCEPTED:
        # An email accepted by the relay is as delivered as we will know; an SMS waits for its receipt.
        return Next(DELIVERED if channel == "email" else SENDING, None)
    status = STATUS_OF[result.outcome]
    if status == PERMANENT or attempt > len(limits.retry_delays_s):
        return Next(status, None)
    return Next(status, now + timedelta(seconds=limits.retry_delays_s[attempt - 1]))
