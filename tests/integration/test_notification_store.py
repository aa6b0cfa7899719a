"""A send whose process died before it recorded the provider's answer, on the real database: it is claimed again
after the stuck delay — an SMS pinned to the gateway it may have reached, an email counted as an uncertain send;
and the gateway's report on it, if it comes first, waits for the send to be recorded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import asyncpg

from services.notification import store
from services.notification.domain import Limits
from services.notification.handlers import NotificationContext, ReceiptOutcome, record_receipt
from services.notification.providers.sms import DeliveryReceipt, ReceiptStatus
from services.notification.templates import default_templates
from shared.clock import SystemClock
from shared.db import MigrationSource
from shared.outbox import OUTBOX_MIGRATIONS
from shared.outbox.writer import Outbox
from tests.infrastructure import REPO
from tests.support.messaging import migrate

NOTIFICATION_MIGRATIONS = MigrationSource("notification", REPO / "services" / "notification" / "migrations")
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def notification(channel: str) -> store.NewNotification:
    return store.NewNotification(
        id=uuid.uuid4(), event_id=uuid.uuid4(), event_type="dossier.accepted", dossier_id=uuid.uuid4(),
        dossier_code="H29.101.1-261202-0001", channel=channel, recipient="0912345678" if channel == "sms" else "a@b.vn",
        event_data={}, template="dossier-accepted", template_version=1, mandatory=True, subject=None, body_text="x",
        body_html=None, next_attempt_at=NOW,
    )  # fmt: skip


async def test_a_stuck_send_is_claimed_again_pinned_or_counted(fresh_database: str) -> None:
    await migrate(fresh_database, OUTBOX_MIGRATIONS, NOTIFICATION_MIGRATIONS)
    conn = await asyncpg.connect(fresh_database)
    try:
        sms, email = notification("sms"), notification("email")
        for n in (sms, email):
            assert await store.add_notification(conn, n, NOW)
            assert not await store.add_notification(conn, n, NOW), "one record per event, channel and recipient"
        claimed = {row.id for row in await store.claim_sends(conn, NOW, timedelta(seconds=60), 10)}
        assert claimed == {sms.id, email.id}
        await store.pin(conn, sms.id, "ott")
        # The process dies here: nothing is recorded. Before the stuck delay, nobody claims them again...
        assert await store.claim_sends(conn, NOW + timedelta(seconds=30), timedelta(seconds=60), 10) == []
        # ...after it, both are sent again.
        again = {row.id: row for row in await store.claim_sends(conn, NOW + timedelta(seconds=90),
                                                                timedelta(seconds=60), 10)}  # fmt: skip
        assert set(again) == {sms.id, email.id}
        assert (again[sms.id].provider, again[sms.id].pinned, again[sms.id].uncertain_sends) == ("ott", True, 0)
        assert (again[email.id].attempts, again[email.id].uncertain_sends) == (2, 1)
        assert await store.uncertain_total(conn) == 1
    finally:
        await conn.close()


async def test_a_delivery_report_ahead_of_the_recorded_send_is_refused_until_the_send_is_recorded(
    fresh_database: str,
) -> None:
    """The gateway accepted the SMS and reported on it before the sender recorded the acceptance (it died, and the
    resend with the same key is answered from the gateway's memory): the early report is refused for now, so that
    the gateway posts it again, and is recorded once the send is."""
    await migrate(fresh_database, OUTBOX_MIGRATIONS, NOTIFICATION_MIGRATIONS)
    ctx = NotificationContext(
        outbox=Outbox("notification"), templates=default_templates(), clock=SystemClock(),
        limits=Limits(time(21), time(7), 5, (10.0,)), public_url="http://localhost", survey_key=b"k" * 32,
        unaccented_sms=True,
    )  # fmt: skip
    conn = await asyncpg.connect(fresh_database)
    try:
        sms = notification("sms")
        await store.add_notification(conn, sms, NOW)
        await store.claim_sends(conn, NOW, timedelta(seconds=60), 10)
        report = DeliveryReceipt(sms.id, "bra-1", ReceiptStatus.DELIVERED)
        async with conn.transaction():
            assert await record_receipt(ctx, conn, report) is ReceiptOutcome.EARLY
        await store.record_send(conn, sms.id, "sending", "brandname", "bra-1", None, NOW, None, pinned=False)
        async with conn.transaction():
            assert await record_receipt(ctx, conn, report) is ReceiptOutcome.RECORDED
            assert await record_receipt(ctx, conn, report) is ReceiptOutcome.RECORDED, "a repeat changes nothing"
        assert await conn.fetchval("SELECT status FROM notifications WHERE id = $1", sms.id) == "delivered"
        delivered = "SELECT count(*) FROM outbox WHERE event_type = 'notification.delivered'"
        assert await conn.fetchval(delivered) == 1
        unknown = DeliveryReceipt(uuid.uuid4(), "bra-2", ReceiptStatus.DELIVERED)
        async with conn.transaction():
            assert await record_receipt(ctx, conn, unknown) is ReceiptOutcome.UNKNOWN
    finally:
        await conn.close()
