"""What notification consumes: the contact records (and their erasure), and every lifecycle event the applicant is
told about, turned into notification records (handlers.notify)."""

from __future__ import annotations

from services.notification import handlers
from services.notification.handlers import NotificationContext
from shared.consumer.runner import ConsumerRunner, Handler
from shared.contacts import knows_contact, record_contact
from shared.db import Connection
from shared.events.catalogue import contacts, intake, postal, routing, spec_for
from shared.events.envelope import Envelope
from shared.service import ServiceRuntime

GROUP = "lienthong.notification"
TOPICS = [intake.TOPIC, routing.TOPIC, postal.TOPIC, contacts.TOPIC]


def notification_consumer(runtime: ServiceRuntime, ctx: NotificationContext) -> ConsumerRunner:
    assert runtime.pool is not None  # workers are built once the database is reachable

    async def notify(conn: Connection, envelope: Envelope) -> None:
        await handlers.notify(ctx, conn, envelope)

    async def erase(conn: Connection, dossier_id: str) -> None:
        await handlers.erase_contact(ctx, conn, dossier_id)

    told = {event_type: Handler(notify, ready=knows_contact) for event_type in ctx.templates.event_types()}
    # Kept on the runtime: the admin endpoints replay its dead letters into it.
    runner = runtime.consumer = ConsumerRunner(
        group=GROUP,
        topics=TOPICS,
        handlers={**told, "contact.recorded": Handler(record_contact)},
        pool=runtime.pool,
        kafka=runtime.settings.kafka,
        registry=runtime.registry,
        is_known_type=lambda event_type: spec_for(event_type) is not None,
        on_tombstone=erase,
    )
    return runner
