"""Writing events into the outbox, inside the caller's transaction."""

from __future__ import annotations

import json
import uuid
import zlib
from datetime import UTC, datetime
from typing import Any

from shared.db import Connection
from shared.events.catalogue.base import EventData
from shared.events.envelope import Envelope, dataschema_of, source_of
from shared.outbox import SHARDS

NEXT_SEQUENCE = """
INSERT INTO outbox_sequence (topic, dossier_id, last_seq) VALUES ($1, $2, 1)
ON CONFLICT (topic, dossier_id) DO UPDATE SET last_seq = outbox_sequence.last_seq + 1
RETURNING last_seq
"""
INSERT_ROW = """
INSERT INTO outbox (event_id, event_type, topic, dossier_id, shard, headers, value)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""


def shard_of(dossier_id: str) -> int:
    return zlib.crc32(dossier_id.encode()) % SHARDS


class Outbox:
    """What a handler calls to publish: `await outbox.add(conn, event, dossier_id=..., dossier_code=...)`.

    The caller owns the transaction; the row, its dossierseq and the relays' wake-up (a NOTIFY from the table's
    trigger, delivered on commit) all vanish on rollback, so no event ever describes a state change that did not
    happen."""

    def __init__(self, service: str) -> None:
        self.source = source_of(service)

    async def add(
        self,
        conn: Connection,
        event: EventData,
        *,
        topic: str,
        dossier_id: str,
        dossier_code: str,
        causation_id: str | None = None,
        traceparent: str | None = None,
        tombstone: bool = False,
    ) -> Envelope:
        return await self.add_raw(
            conn,
            event_type=event.event_type,
            version=event.version,
            data=None if tombstone else event.model_dump(mode="json"),
            topic=topic,
            dossier_id=dossier_id,
            dossier_code=dossier_code,
            causation_id=causation_id,
            traceparent=traceparent,
        )

    async def add_raw(
        self,
        conn: Connection,
        *,
        event_type: str,
        version: int,
        data: dict[str, Any] | None,
        topic: str,
        dossier_id: str,
        dossier_code: str,
        causation_id: str | None = None,
        traceparent: str | None = None,
    ) -> Envelope:
        seq = await conn.fetchval(NEXT_SEQUENCE, topic, dossier_id)
        envelope = Envelope(
            id=str(uuid.uuid4()),
            source=self.source,
            type=event_type,
            time=datetime.now(UTC),
            subject=dossier_code,
            dataschema=dataschema_of(event_type, version),
            dossierid=dossier_id,
            dossierseq=seq,
            data=data,
            causationid=causation_id,
            traceparent=traceparent,
        )
        headers = json.dumps([[name, raw.decode()] for name, raw in envelope.headers()])
        await conn.execute(
            INSERT_ROW,
            uuid.UUID(envelope.id),
            event_type,
            topic,
            dossier_id,
            shard_of(dossier_id),
            headers,
            envelope.value(),
        )
        return envelope
