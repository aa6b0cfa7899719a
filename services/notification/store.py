"""All of notification's SQL: contact copies, notifications and their delivery, surveys."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.db import Connection


async def erase_notifications(conn: Connection, dossier_id: uuid.UUID) -> None:
    """The copies of an erased contact in the dossier's notifications are gone; what was not sent yet will not be."""
    await conn.execute(
        """UPDATE notifications SET recipient = 'erased:' || id, subject = NULL, body_text = '', body_html = NULL,
                  status = CASE WHEN status IN ('created', 'temporary-failure', 'technical-failure')
                                      OR (status = 'sending' AND sent_at IS NULL)
                                THEN 'permanent-failure' ELSE status END,
                  failure_code = CASE WHEN sent_at IS NULL THEN 'contact-erased' ELSE failure_code END,
                  next_attempt_at = NULL
           WHERE dossier_id = $1""",
        dossier_id,
    )
    await conn.execute("UPDATE surveys SET comment = NULL WHERE dossier_id = $1", dossier_id)


@dataclass(frozen=True)
class NewNotification:
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    dossier_id: uuid.UUID
    dossier_code: str
    channel: str
    recipient: str
    event_data: dict[str, Any]
    template: str
    template_version: int
    mandatory: bool
    subject: str | None
    body_text: str
    body_html: str | None
    next_attempt_at: datetime


async def add_notification(conn: Connection, n: NewNotification, now: datetime) -> bool:
    """False when this (event, channel, recipient) already has its notification: a redelivery adds nothing."""
    inserted = await conn.fetchval(
        """INSERT INTO notifications (id, event_id, event_type, dossier_id, dossier_code, channel, recipient,
                                      event_data, template, template_version, mandatory, subject, body_text,
                                      body_html, status, next_attempt_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'created', $15, $16)
           ON CONFLICT (event_id, channel, recipient) DO NOTHING RETURNING true""",
        n.id, n.event_id, n.event_type, n.dossier_id, n.dossier_code, n.channel, n.recipient, json.dumps(n.event_data),
        n.template, n.template_version, n.mandatory, n.subject, n.body_text, n.body_html, n.next_attempt_at, now,
    )  # fmt: skip
    return bool(inserted)


@dataclass(frozen=True)
class NotificationRow:
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    dossier_id: uuid.UUID
    dossier_code: str
    channel: str
    recipient: str
    template: str
    template_version: int
    mandatory: bool
    subject: str | None
    body_text: str
    body_html: str | None
    status: str
    attempts: int
    provider: str | None
    pinned: bool
    sent_at: datetime | None
    uncertain_sends: int
    event_data: dict[str, Any]


COLUMNS = """id, event_id, event_type, dossier_id, dossier_code, channel, recipient, template, template_version,
             mandatory, subject, body_text, body_html, status, attempts, provider, pinned, sent_at, uncertain_sends,
             event_data"""


def _notification(record: Any) -> NotificationRow:
    return NotificationRow(**{**dict(record), "event_data": json.loads(record["event_data"])})


async def claim_sends(conn: Connection, now: datetime, stuck_after: timedelta, limit: int) -> list[NotificationRow]:
    """Notifications due to (re)send, locked and marked in flight. A row still in flight after `stuck_after` is a
    send whose process died before it recorded the answer: it is claimed again (the same idempotency key, or the
    same Message-ID, and the email counted as an uncertain send)."""
    # In the order they fell due: an UPDATE returns its rows in no particular order, and the sender sends one
    # recipient's messages in the order it gets them (the SMS limit holds back the last ones).
    records = await conn.fetch(
        f"""WITH claimed AS (
                UPDATE notifications SET status = 'sending', sending_since = $1, attempts = attempts + 1,
                       uncertain_sends = uncertain_sends
                           + CASE WHEN status = 'sending' AND channel = 'email' THEN 1 ELSE 0 END
                WHERE id IN (
                    SELECT id FROM notifications
                    WHERE (status IN ('created', 'temporary-failure', 'technical-failure') AND next_attempt_at <= $1)
                       OR (status = 'sending' AND sent_at IS NULL AND sending_since < $2)
                    ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
                RETURNING {COLUMNS}, next_attempt_at, created_at)
            SELECT {COLUMNS} FROM claimed ORDER BY next_attempt_at, created_at, id""",
        now, now - stuck_after, limit,
    )  # fmt: skip
    return [_notification(r) for r in records]


async def sms_sent_since(conn: Connection, phone: str, since: datetime) -> list[datetime]:
    records = await conn.fetch(
        "SELECT sent_at FROM notifications WHERE recipient = $1 AND channel = 'sms' AND sent_at >= $2", phone, since
    )
    return [r["sent_at"] for r in records]


async def pin(conn: Connection, notification_id: uuid.UUID, provider: str) -> None:
    """Recorded before the gateway is called: if we die during the call, the retry goes to the same gateway, the
    only one that can recognise the idempotency key."""
    await conn.execute("UPDATE notifications SET provider = $2, pinned = true WHERE id = $1", notification_id, provider)


async def postpone(conn: Connection, notification_id: uuid.UUID, until: datetime) -> None:
    """Not sent after all (the SMS limit): back to waiting, the attempt not counted."""
    await conn.execute(
        """UPDATE notifications SET status = 'created', sending_since = NULL, attempts = attempts - 1,
                  next_attempt_at = $2 WHERE id = $1""",
        notification_id, until,
    )  # fmt: skip


async def record_send(
    conn: Connection, notification_id: uuid.UUID, status: str, provider: str, provider_ref: str | None,
    failure_code: str | None, now: datetime, retry_at: datetime | None, pinned: bool,
) -> None:  # fmt: skip
    await conn.execute(
        """UPDATE notifications SET status = $2, provider = $3, provider_ref = coalesce($4, provider_ref),
                  failure_code = $5, sending_since = NULL, next_attempt_at = $7,
                  pinned = $8,
                  sent_at = CASE WHEN $2 IN ('sending', 'delivered') THEN $6 ELSE sent_at END,
                  delivered_at = CASE WHEN $2 = 'delivered' THEN $6 ELSE delivered_at END
           WHERE id = $1""",
        notification_id, status, provider, provider_ref, failure_code, now, retry_at, pinned,
    )  # fmt: skip


async def locked_notification(conn: Connection, notification_id: uuid.UUID) -> NotificationRow | None:
    record = await conn.fetchrow(f"SELECT {COLUMNS} FROM notifications WHERE id = $1 FOR UPDATE", notification_id)
    return _notification(record) if record else None


async def record_receipt(
    conn: Connection, notification_id: uuid.UUID, status: str, failure_code: str | None, at: datetime
) -> None:
    await conn.execute(
        """UPDATE notifications SET status = $2, failure_code = $3, next_attempt_at = NULL,
                  delivered_at = CASE WHEN $2 = 'delivered' THEN $4 ELSE delivered_at END
           WHERE id = $1""",
        notification_id, status, failure_code, at,
    )  # fmt: skip


async def stored_survey_key(conn: Connection, new_key: bytes) -> bytes:
    """The survey key kept in the database; `new_key` becomes it if there is none yet."""
    await conn.execute("INSERT INTO survey_keys (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING", new_key)
    key: bytes = await conn.fetchval("SELECT key FROM survey_keys WHERE id = 1")
    return key


async def open_survey(conn: Connection, survey_id: uuid.UUID, dossier_id: uuid.UUID, code: str, now: datetime) -> bool:
    """False when the dossier already has its survey: the invitation goes out once."""
    inserted = await conn.fetchval(
        """INSERT INTO surveys (id, dossier_id, dossier_code, invited_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (dossier_id) DO NOTHING RETURNING true""",
        survey_id, dossier_id, code, now,
    )  # fmt: skip
    return bool(inserted)


@dataclass(frozen=True)
class SurveyRow:
    id: uuid.UUID
    dossier_id: uuid.UUID
    dossier_code: str
    answered_at: datetime | None


async def survey(conn: Connection, survey_id: uuid.UUID, *, lock: bool = False) -> SurveyRow | None:
    record = await conn.fetchrow(
        f"SELECT id, dossier_id, dossier_code, answered_at FROM surveys WHERE id = $1{' FOR UPDATE' if lock else ''}",
        survey_id,
    )
    return SurveyRow(**dict(record)) if record else None


async def answer_survey(conn: Connection, survey_id: uuid.UUID, answer: dict[str, Any], now: datetime) -> None:
    await conn.execute(
        """UPDATE surveys SET answered_at = $2, levels = $3, rating = $4, dissatisfied = $5, complaint = $6,
                  criteria = $7, comment = $8 WHERE id = $1""",
        survey_id, now, answer["levels"], answer["rating"], answer["dissatisfied"], answer["complaint"],
        json.dumps(answer["criteria"]), answer["comment"],
    )  # fmt: skip


async def expire_unreceipted(conn: Connection, accepted_before: datetime) -> list[NotificationRow]:
    """SMS accepted long ago and never reported on: temporary failures (the gateway's receipt is lost)."""
    records = await conn.fetch(
        f"""UPDATE notifications SET status = 'temporary-failure', failure_code = 'no-receipt', next_attempt_at = NULL
            WHERE channel = 'sms' AND status = 'sending' AND sent_at < $1 RETURNING {COLUMNS}""",
        accepted_before,
    )
    return [_notification(r) for r in records]


async def counts_by_status(conn: Connection) -> dict[tuple[str, str], int]:
    records = await conn.fetch("SELECT channel, status, count(*) AS n FROM notifications GROUP BY channel, status")
    return {(r["channel"], r["status"]): r["n"] for r in records}


async def uncertain_total(conn: Connection) -> int:
    total: int = await conn.fetchval("SELECT coalesce(sum(uncertain_sends), 0) FROM notifications")
    return total
