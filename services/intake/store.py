"""All of intake's SQL."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.intake.domain import DossierState
from shared.db import Connection


@dataclass(frozen=True)
class DossierRow:
    id: uuid.UUID
    code: str
    desk_code: str
    procedure_code: str
    procedure_version: int
    channel: str
    state: DossierState
    return_channel: str
    documents: list[dict[str, Any]]
    fee_vnd: int
    received_at: datetime
    due_at: datetime | None
    calendar_version: str | None
    supplement_items: list[dict[str, Any]] | None
    awaiting_post: bool = False
    appointment_at: datetime | None = None  # due_at moved by pauses and an apology; set by routing's events

    @property
    def appointment(self) -> datetime | None:
        """The appointment in force, which the applicant is given."""
        return self.appointment_at or self.due_at


COLUMNS = """id, code, desk_code, procedure_code, procedure_version, channel, state, return_channel, documents,
             fee_vnd, received_at, due_at, calendar_version, supplement_items, awaiting_post, appointment_at"""


def _row(record: Any) -> DossierRow:
    values = dict(record)
    values["state"] = DossierState(values["state"])
    values["documents"] = json.loads(values["documents"])
    values["supplement_items"] = json.loads(values["supplement_items"]) if values["supplement_items"] else None
    return DossierRow(**values)


async def insert_dossier(conn: Connection, row: DossierRow, tracking_secret_hash: str) -> None:
    await conn.execute(
        f"""INSERT INTO dossiers ({COLUMNS}, tracking_secret)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)""",
        row.id, row.code, row.desk_code, row.procedure_code, row.procedure_version, row.channel, row.state.value,
        row.return_channel, json.dumps(row.documents), row.fee_vnd, row.received_at, row.due_at,
        row.calendar_version, json.dumps(row.supplement_items) if row.supplement_items else None,
        row.awaiting_post, row.appointment_at, tracking_secret_hash,
    )  # fmt: skip


async def insert_applicant(conn: Connection, dossier_id: uuid.UUID, applicant: dict[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO applicants (dossier_id, kind, full_name, personal_id, phone, email, address, notify_by, language)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        dossier_id, applicant["kind"], applicant["full_name"], applicant.get("personal_id"), applicant["phone"],
        applicant.get("email"), json.dumps(applicant.get("address")), applicant["notify_by"], applicant["language"],
    )  # fmt: skip


async def lock_dossier(conn: Connection, dossier_id: uuid.UUID) -> DossierRow | None:
    """The dossier, locked until the transaction ends: two decisions on one dossier happen one after the other."""
    record = await conn.fetchrow(f"SELECT {COLUMNS} FROM dossiers WHERE id = $1 FOR UPDATE", dossier_id)
    return _row(record) if record else None


async def get_dossier(conn: Connection, dossier_id: uuid.UUID) -> DossierRow | None:
    record = await conn.fetchrow(f"SELECT {COLUMNS} FROM dossiers WHERE id = $1", dossier_id)
    return _row(record) if record else None


async def decide(
    conn: Connection,
    dossier_id: uuid.UUID,
    state: DossierState,
    *,
    received_at: datetime | None = None,
    due_at: datetime | None = None,
    calendar_version: str | None = None,
    supplement_items: list[dict[str, Any]] | None = None,
    refusal: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        """UPDATE dossiers SET state = $2, received_at = coalesce($3, received_at), due_at = coalesce($4, due_at),
                  appointment_at = coalesce($4, appointment_at),
                  calendar_version = coalesce($5, calendar_version),
                  supplement_items = coalesce($6, supplement_items), refusal = coalesce($7, refusal),
                  updated_at = now()
           WHERE id = $1""",
        dossier_id, state.value, received_at, due_at, calendar_version,
        json.dumps(supplement_items) if supplement_items else None, json.dumps(refusal) if refusal else None,
    )  # fmt: skip


async def remembered_request(conn: Connection, scope: str, key: str) -> tuple[str, uuid.UUID] | None:
    """(request hash, dossier id) of an earlier request with this Idempotency-Key. Requests with the same key
    wait for each other here (a transaction-scoped advisory lock), so a retry racing its original sees it."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))", scope, key)
    record = await conn.fetchrow(
        "SELECT request_hash, dossier_id FROM idempotency_keys WHERE scope = $1 AND key = $2 FOR UPDATE", scope, key
    )
    return (record["request_hash"], record["dossier_id"]) if record else None


async def remember_request(conn: Connection, scope: str, key: str, request_hash: str, dossier_id: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO idempotency_keys (scope, key, request_hash, dossier_id) VALUES ($1, $2, $3, $4)",
        scope, key, request_hash, dossier_id,
    )  # fmt: skip


async def erase_applicant(conn: Connection, dossier_id: uuid.UUID) -> None:
    """Keeps the row (the dossier still has an applicant) without anything that identifies them."""
    await conn.execute(
        """UPDATE applicants SET full_name = '[erased]', personal_id = NULL, phone = '[erased]', email = NULL,
                  address = NULL WHERE dossier_id = $1""",
        dossier_id,
    )


async def find_by_code(conn: Connection, code: str) -> tuple[DossierRow, str] | None:
    record = await conn.fetchrow(f"SELECT {COLUMNS}, tracking_secret FROM dossiers WHERE code = $1", code)
    if record is None:
        return None
    values = dict(record)
    secret_hash = values.pop("tracking_secret")
    return _row(values), secret_hash


async def timeline(conn: Connection, dossier_id: uuid.UUID) -> list[tuple[str, datetime, int | None]]:
    """Every service's lifecycle events of the dossier, in time order: intake's own (its outbox) and those its
    consumer group recorded; with the status each one set, if any."""
    rows = await conn.fetch(
        """SELECT event_type, created_at AS at, (convert_from(value, 'UTF8')::jsonb ->> 'status_to')::smallint AS status
           FROM outbox WHERE dossier_id = $1 AND topic = 'lienthong.intake.v1'
           UNION ALL
           SELECT event_type, at, status FROM timeline WHERE dossier_id = $2
           ORDER BY at""",
        str(dossier_id), dossier_id,
    )  # fmt: skip
    return [(row["event_type"], row["at"], row["status"]) for row in rows]


async def set_tracking_secret(conn: Connection, dossier_id: uuid.UUID, secret_hash: str) -> None:
    await conn.execute("UPDATE dossiers SET tracking_secret = $2 WHERE id = $1", dossier_id, secret_hash)


async def printable(conn: Connection, dossier_id: uuid.UUID) -> tuple[str, dict[str, Any] | None]:
    """The applicant's name, as printed on the forms, and the refusal of a refused dossier."""
    record = await conn.fetchrow(
        "SELECT a.full_name, d.refusal FROM dossiers d JOIN applicants a ON a.dossier_id = d.id WHERE d.id = $1",
        dossier_id,
    )
    assert record is not None
    return record["full_name"], json.loads(record["refusal"]) if record["refusal"] else None
