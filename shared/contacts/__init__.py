"""A service's copy of the applicants' contact records, kept from `lienthong.intake.contacts.v1` (design.md: the
only topic with personal data, readable by notification and postal, erased by a tombstone)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shared.db import Connection, MigrationSource
from shared.events.catalogue.contacts import ContactRecorded
from shared.events.envelope import Envelope

CONTACTS_MIGRATIONS = MigrationSource("contacts", Path(__file__).parent / "migrations")


async def record_contact(conn: Connection, envelope: Envelope) -> None:
    """The latest record wins; one older than the record kept (a replay of the topic) changes nothing."""
    contact = ContactRecorded.model_validate(envelope.data)
    await conn.execute(
        """INSERT INTO contacts (dossier_id, record, recorded_at) VALUES ($1, $2, $3)
           ON CONFLICT (dossier_id) DO UPDATE SET record = excluded.record, recorded_at = excluded.recorded_at
           WHERE contacts.erased_at IS NULL AND contacts.recorded_at <= excluded.recorded_at""",
        uuid.UUID(envelope.dossierid), contact.model_dump_json(), contact.recorded_at,
    )  # fmt: skip


async def erase_contact(conn: Connection, dossier_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO contacts (dossier_id, record, recorded_at, erased_at) VALUES ($1, NULL, $2, $2)
           ON CONFLICT (dossier_id) DO UPDATE SET record = NULL, erased_at = $2""",
        dossier_id, now,
    )  # fmt: skip


@dataclass(frozen=True)
class ContactCopy:
    record: ContactRecorded | None  # none once erased


async def contact_of(conn: Connection, dossier_id: uuid.UUID) -> ContactCopy | None:
    """None when no record came yet; a copy without a record once erased."""
    row = await conn.fetchrow("SELECT record FROM contacts WHERE dossier_id = $1", dossier_id)
    if row is None:
        return None
    return ContactCopy(ContactRecorded.model_validate_json(row["record"]) if row["record"] else None)


async def knows_contact(conn: Connection, envelope: Envelope) -> bool:
    """A precondition for the consumer runner: the contacts topic has no order with the lifecycle topics."""
    return await contact_of(conn, uuid.UUID(envelope.dossierid)) is not None
