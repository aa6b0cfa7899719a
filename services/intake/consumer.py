"""What intake applies from other services' events: the post's handover of a collected dossier to the desk,
which is the legal receipt instant the clock counts from once the desk accepts."""

from __future__ import annotations

import uuid

from shared.consumer.runner import ConsumerRunner, Handler
from shared.db import Connection
from shared.events.catalogue import postal, spec_for
from shared.events.catalogue.postal import ShipmentHandedToAgency
from shared.events.envelope import Envelope
from shared.service import ServiceRuntime

GROUP = "lienthong.intake"


async def package_handed_over(conn: Connection, envelope: Envelope) -> None:
    event = ShipmentHandedToAgency.model_validate(envelope.data)
    await conn.execute(
        "UPDATE dossiers SET received_at = $2, awaiting_post = false, updated_at = now() WHERE id = $1",
        uuid.UUID(envelope.dossierid),
        event.handed_over_at,
    )


async def registered_here(conn: Connection, envelope: Envelope) -> bool:
    """A handover can only be applied to a dossier intake registered (the topics have no order between them)."""
    return bool(await conn.fetchval("SELECT 1 FROM dossiers WHERE id = $1", uuid.UUID(envelope.dossierid)))


def intake_consumer(runtime: ServiceRuntime) -> ConsumerRunner:
    assert runtime.pool is not None  # workers are built once the database is reachable
    return ConsumerRunner(
        group=GROUP,
        topics=[postal.TOPIC],
        handlers={"shipment.handed-to-agency": Handler(package_handed_over, ready=registered_here)},
        pool=runtime.pool,
        kafka=runtime.settings.kafka,
        registry=runtime.registry,
        is_known_type=lambda event_type: spec_for(event_type) is not None,
    )
