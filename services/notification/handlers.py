"""Notification's use cases, each in the transaction of the consumer runner, the sender or an API route: contacts
kept and erased, the messages of a lifecycle event written as records, and what a send or a delivery receipt
makes of a record — with the outgoing events in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import structlog

from services.notification import store, surveys
from services.notification.domain import (
    DELIVERED,
    FAILURE_KIND,
    PERMANENT,
    SENDING,
    Limits,
    Next,
    Recipient,
    after_quiet_hours,
    fallback_email,
    recipients,
)
from services.notification.providers import SendResult
from services.notification.providers.sms import DeliveryReceipt, ReceiptStatus
from services.notification.templates import RenderedEmail, RenderedSms, Templates
from shared import contacts
from shared.clock import Clock
from shared.contacts import contact_of
from shared.db import Connection
from shared.events.catalogue import notification, spec_for
from shared.events.catalogue.base import EventData
from shared.events.catalogue.contacts import ContactRecorded
from shared.events.catalogue.notification import NotificationChannel
from shared.events.envelope import Envelope
from shared.outbox.writer import Outbox

log = structlog.get_logger(__name__)
NOTIFICATIONS = uuid.UUID("5b0f2a52-2f53-4d07-9c47-1c1f63f1d8a4")  # namespace: one id per event x channel x recipient


@dataclass(frozen=True)
class NotificationContext:
    outbox: Outbox
    templates: Templates
    clock: Clock
    limits: Limits
    public_url: str
    survey_key: bytes | None  # configured; otherwise the one kept in the database
    unaccented_sms: bool

    async def links(self, conn: Connection) -> surveys.SurveyLinks:
        return surveys.SurveyLinks(await surveys.survey_key(conn, self.survey_key), self.public_url)


async def notify(ctx: NotificationContext, conn: Connection, envelope: Envelope) -> None:
    """The messages a lifecycle event owes the applicant, one record per channel, written once whatever the
    redeliveries (the record's id comes from the event, the channel and the recipient)."""
    found = await contact_of(conn, uuid.UUID(envelope.dossierid))
    assert found is not None  # the runner waited for knows_contact
    contact, template = found.record, ctx.templates.template_for(envelope.type)
    if contact is None or not (template.mandatory or contact.optional_messages):
        return  # erased, or an optional message the applicant declined
    extras = {}
    if "survey_url" in template.extras:
        extras["survey_url"] = await surveys.invite(
            conn, await ctx.links(conn), uuid.UUID(envelope.dossierid), envelope.subject, ctx.clock
        )
    for recipient in recipients(contact):
        await _write(ctx, conn, envelope, envelope.data or {}, contact, recipient, extras)


async def _write(
    ctx: NotificationContext, conn: Connection, envelope: Envelope | store.NotificationRow, data: dict[str, object],
    contact: ContactRecorded, recipient: Recipient, extras: dict[str, str],
) -> None:  # fmt: skip
    event_id, event_type = _cause(envelope)
    spec = spec_for(event_type)
    assert spec is not None  # only catalogued types have templates
    event: EventData = spec.model.model_validate(data)
    code = envelope.subject if isinstance(envelope, Envelope) else envelope.dossier_code
    message: RenderedSms | RenderedEmail
    if recipient.channel == "sms":
        message = ctx.templates.render(event_type, "sms", contact.language, event, contact, dossier_code=code,
                                       unaccented=ctx.unaccented_sms, extras=extras)  # fmt: skip
    else:
        message = ctx.templates.render(event_type, "email", contact.language, event, contact, dossier_code=code,
                                       extras=extras)  # fmt: skip
    now = ctx.clock.now()
    record = store.NewNotification(
        id=uuid.uuid5(NOTIFICATIONS, f"{event_id}/{recipient.channel}/{recipient.address}"), event_id=event_id,
        event_type=event_type, dossier_id=uuid.UUID(_dossier(envelope)), dossier_code=code,
        channel=recipient.channel, recipient=recipient.address, event_data=dict(data), template=message.template,
        template_version=message.version, mandatory=message.mandatory,
        subject=message.subject if isinstance(message, RenderedEmail) else None, body_text=message.text,
        body_html=message.html if isinstance(message, RenderedEmail) else None,
        next_attempt_at=now if message.mandatory else after_quiet_hours(ctx.limits, now),
    )  # fmt: skip
    if await store.add_notification(conn, record, now):
        log.info("notification.created", notification_id=str(record.id), channel=recipient.channel,
                 template=record.template)  # fmt: skip


def _cause(source: Envelope | store.NotificationRow) -> tuple[uuid.UUID, str]:
    if isinstance(source, Envelope):
        return uuid.UUID(source.id), source.type
    return source.event_id, source.event_type


def _dossier(source: Envelope | store.NotificationRow) -> str:
    return source.dossierid if isinstance(source, Envelope) else str(source.dossier_id)


async def erase_contact(ctx: NotificationContext, conn: Connection, dossier_id: str) -> None:
    await contacts.erase_contact(conn, uuid.UUID(dossier_id), ctx.clock.now())
    await store.erase_notifications(conn, uuid.UUID(dossier_id))


async def record_send(
    ctx: NotificationContext, conn: Connection, row: store.NotificationRow, result: SendResult, after: Next
) -> None:
    """What a provider said of one attempt; the events it makes; the email fallback of an SMS that cannot go."""
    now = ctx.clock.now()
    await store.record_send(conn, row.id, after.status, result.provider, result.provider_reference,
                            result.failure_code, now, after.retry_at, pinned=result.uncertain)  # fmt: skip
    common = _common(row)
    if after.status in (SENDING, DELIVERED):
        await _publish(ctx, conn, row, notification.NotificationSent(
            **common, provider=result.provider, provider_message_id=result.provider_reference, attempt=row.attempts,
            sent_at=now))  # fmt: skip
        if after.status == DELIVERED:
            await _publish(ctx, conn, row, notification.NotificationDelivered(**common, delivered_at=now))
        return
    await _publish(ctx, conn, row, notification.NotificationFailed(
        **common, failure_kind=FAILURE_KIND[after.status], failure_code=result.failure_code, attempt=row.attempts,
        will_retry=after.retry_at is not None, failed_at=now))  # fmt: skip
    if after.status == PERMANENT:
        await fall_back(ctx, conn, row)


class ReceiptOutcome(StrEnum):
    RECORDED = "recorded"  # or repeated: a notification already final changes no more
    UNKNOWN = "unknown"  # no notification has that id
    EARLY = "early"  # ahead of our own record of the acceptance (the sender died before writing it): retry later


async def record_receipt(ctx: NotificationContext, conn: Connection, receipt: DeliveryReceipt) -> ReceiptOutcome:
    """A gateway's delivery report. A report that comes before we recorded the send it reports on is refused for
    now, so that the gateway posts it again once the send (retried with the same idempotency key) is recorded."""
    row = await store.locked_notification(conn, receipt.notification_id)
    if row is None:
        return ReceiptOutcome.UNKNOWN
    if row.status == SENDING and row.sent_at is None:
        return ReceiptOutcome.EARLY
    if row.status != SENDING:
        return ReceiptOutcome.RECORDED
    now = ctx.clock.now()
    status = {ReceiptStatus.DELIVERED: DELIVERED}.get(receipt.status, receipt.status.value)
    await store.record_receipt(conn, row.id, status, receipt.failure_code, now)
    if status == DELIVERED:
        await _publish(ctx, conn, row, notification.NotificationDelivered(**_common(row), delivered_at=now))
        return ReceiptOutcome.RECORDED
    await _publish(ctx, conn, row, notification.NotificationFailed(
        **_common(row), failure_kind=FAILURE_KIND[status], failure_code=receipt.failure_code, attempt=row.attempts,
        will_retry=False, failed_at=now))  # fmt: skip
    if status == PERMANENT:
        await fall_back(ctx, conn, row)
    return ReceiptOutcome.RECORDED


async def fall_back(ctx: NotificationContext, conn: Connection, row: store.NotificationRow) -> None:
    """An SMS that cannot reach the applicant goes by email, when there is an address."""
    found = await contact_of(conn, row.dossier_id)
    contact = found.record if found else None
    email = fallback_email(contact, row.channel)
    if email is not None and contact is not None:
        await _write(ctx, conn, row, row.event_data, contact, email, await _extras(ctx, conn, row))


async def _extras(ctx: NotificationContext, conn: Connection, row: store.NotificationRow) -> dict[str, str]:
    if "survey_url" not in ctx.templates.template_for(row.event_type).extras:
        return {}
    links = await ctx.links(conn)
    return {"survey_url": links.url(uuid.uuid5(surveys.SURVEYS, str(row.dossier_id)))}


def _common(row: store.NotificationRow) -> dict[str, object]:
    return {"notification_id": row.id, "channel": NotificationChannel(row.channel), "template": row.template,
            "causing_event_id": row.event_id, "causing_event_type": row.event_type}  # fmt: skip


async def _publish(ctx: NotificationContext, conn: Connection, row: store.NotificationRow, event: EventData) -> None:
    await ctx.outbox.add(conn, event, topic=notification.TOPIC, dossier_id=str(row.dossier_id),
                         dossier_code=row.dossier_code)  # fmt: skip


async def expire_unreceipted(ctx: NotificationContext, conn: Connection, accepted_before: datetime) -> None:
    """SMS whose delivery receipt never came: temporary failures, and said so on the topic."""
    for row in await store.expire_unreceipted(conn, accepted_before):
        await _publish(ctx, conn, row, notification.NotificationFailed(
            **_common(row), failure_kind=FAILURE_KIND[row.status], failure_code="no-receipt", attempt=row.attempts,
            will_retry=False, failed_at=ctx.clock.now()))  # fmt: skip


async def survey_of(conn: Connection, links: surveys.SurveyLinks, token: str) -> store.SurveyRow:
    found = await store.survey(conn, links.survey_of(token))
    if found is None:
        raise surveys.SurveyError("no such survey")
    return found
