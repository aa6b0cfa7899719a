"""What intake applies from other services' events: every event of its dossiers joins the public tracking
timeline (with the status routing gives it); the post's handover of a collected dossier to the desk sets the
legal receipt instant the clock counts from once the desk accepts; and a paused clock or an apology moves the
appointment the applicant tracks."""

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


# The routing events that move the appointment, and the field of each that holds the new one.
NEW_APPOINTMENT = {
    "dossier.supplement-resumed": "due_at",
    "dossier.obligation-settled": "due_at",
    "dossier.apology-issued": "new_appointment_at",
}


async def appointment_moved(conn: Connection, envelope: Envelope) -> None:
    """A pause only ever extends the time and an apology's date is after the due instant, so the appointment in
    force is the latest one given."""
    await add_to_timeline(conn, envelope)
    event = spec_for(envelope.type)
    assert event is not None
    moved_to = getattr(event.model.model_validate(envelope.data), NEW_APPOINTMENT[envelope.type])
    await conn.execute(
        """UPDATE dossiers SET appointment_at = greatest(coalesce(appointment_at, due_at), $2), updated_at = now()
           WHERE id = $1""",
        uuid.UUID(envelope.dossierid), moved_to,
    )  # fmt: skip


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
    handlers |= {event_type: Handler(appointment_moved, ready=registered_here) for event_type in NEW_APPOINTMENT}
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
