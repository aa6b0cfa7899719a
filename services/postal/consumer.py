"""What postal consumes: the contact records (the applicant's address for the carrier) and their erasure, intake's
pickup requests and routing's results going back by post, each booked as a shipment."""

from __future__ import annotations

import uuid

from services.postal.handlers import PostalContext, book_pickup, book_return
from shared.consumer.runner import ConsumerRunner, Handler
from shared.contacts import erase_contact, knows_contact, record_contact
from shared.db import Connection
from shared.events.catalogue import contacts, intake, routing, spec_for
from shared.events.envelope import Envelope
from shared.service import ServiceRuntime

GROUP = "lienthong.postal"


async def goes_by_post_to_a_known_contact(conn: Connection, envelope: Envelope) -> bool:
    """A result going back otherwise is none of postal's business: no need to wait for a contact record."""
    return (envelope.data or {}).get("return_channel") != "post" or await knows_contact(conn, envelope)


def postal_consumer(runtime: ServiceRuntime, ctx: PostalContext) -> ConsumerRunner:
    assert runtime.pool is not None  # workers are built once the database is reachable

    async def pickup(conn: Connection, envelope: Envelope) -> None:
        await book_pickup(ctx, conn, envelope)

    async def result_ready(conn: Connection, envelope: Envelope) -> None:
        await book_return(ctx, conn, envelope)

    async def erase(conn: Connection, dossier_id: str) -> None:
        # Shipments keep no copy of the contact: the carrier order is written from it when placed.
        await erase_contact(conn, uuid.UUID(dossier_id), ctx.clock.now())

    # Kept on the runtime: the admin endpoints replay its dead letters into it.
    runner = runtime.consumer = ConsumerRunner(
        group=GROUP,
        topics=[intake.TOPIC, routing.TOPIC, contacts.TOPIC],
        handlers={
            "contact.recorded": Handler(record_contact),
            "dossier.pickup-requested": Handler(pickup, ready=knows_contact),
            "dossier.result-ready": Handler(result_ready, ready=goes_by_post_to_a_known_contact),
        },
        pool=runtime.pool,
        kafka=runtime.settings.kafka,
        registry=runtime.registry,
        is_known_type=lambda event_type: spec_for(event_type) is not None,
        on_tombstone=erase,
    )
    return runner
