"""What intake applies from other services' events: every event of its dossiers joins the public tracking
timeline (with the status routing gives it), and the post's handover of a collected dossier to the desk sets the
legal receipt instant the clock counts from once the desk accepts."""

from __future__ import annotations

import uuid

from shared.consumer.runner import ConsumerRunner, Handler
from shared.db import Connection
from shared.events.catalogue import notification, postal, routing, spec_for, specs_on
from shared.events.catalogue.postal import ShipmentHandedToAgency
from shared.events.envelope import Envelope
from shared.service import ServiceRuntime

GROUP = "lienthong.intake"


async def add_to_timeline(conn: Connection, envelope: Envelope) -> None:
    status = (envelope.data or {}).get("status_to")
    await conn.execute(
        """INSERT INTO timeline (event_id, dossier_id, event_type, source, at, status)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING""",
        envelope.id, uuid.UUID(envelope.dossierid), envelope.type, envelope.source, envelope.time, status,
    )  # fmt: skip


async def package_handed_over(conn: Connection, envelope: Envelope) -> None:
    await add_to_timeline(conn, envelope)
    event = ShipmentHandedToAgency.model_validate(envelope.data)
    await conn.execute(
        "UPDATE dossiers SET received_at = $2, awaiting_post = false, updated_at = now() WHERE id = $1",
        uuid.UUID(envelope.dossierid),
        event.handed_over_at,
    )


async def registered_here(conn: Connection, envelope: Envelope) -> bool:
    """A handover can only be applied to a dossier intake registered (the topics have no order between them)."""
    return bool(await conn.fetchval("SELECT 1 FROM dossiers WHERE id = $1", uuid.UUID(envelope.dossierid)))


TOPICS = [routing.TOPIC, postal.TOPIC, notification.TOPIC]


def intake_consumer(runtime: ServiceRuntime) -> ConsumerRunner:
    assert runtime.pool is not None  # workers are built once the database is reachable
    handlers = {
        spec.event_type: Handler(add_to_timeline, ready=registered_here) for t in TOPICS for spec in specs_on(t)
    }
    handlers["shipment.handed-to-agency"] = Handler(package_handed_over, ready=registered_here)
    # Kept on the runtime: the admin endpoints replay its dead letters into it.
    runner = runtime.consumer = ConsumerRunner(
        group=GROUP,
        topics=TOPICS,
        handlers=handlers,
        pool=runtime.pool,
        kafka=runtime.settings.kafka,
        registry=runtime.registry,
        is_known_type=lambda event_type: spec_for(event_type) is not None,
    )
    return runner
