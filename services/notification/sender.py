"""The sender: takes the notifications that are due, calls the provider of their channel, records the answer.

A notification is marked in flight and committed before its provider is called, and the SMS gateway about to be
called is recorded first too (`pin`): if the process dies during the call, the row is found in flight after
`stuck_after` and sent again — an SMS to the same gateway with the same idempotency key (which it recognises), an
email with the same Message-ID (which the relay does not: that send is counted as uncertain).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
from prometheus_client import CollectorRegistry, Gauge

from services.notification import handlers, store
from services.notification.domain import after_send, sms_allowed_at
from services.notification.handlers import NotificationContext
from services.notification.providers import ProviderMetrics, SendResult
from services.notification.providers.email import EmailClient, SmtpConfig
from services.notification.providers.sms import SmsRequest
from services.notification.providers.sms.selection import SmsProviders, sms_providers
from services.notification.settings import NotificationSettings
from services.notification.templates import RenderedEmail
from shared.db import DATABASE_ERRORS
from shared.retry import keep_running


@dataclass
class Sender:
    ctx: NotificationContext
    pool: asyncpg.Pool
    sms: SmsProviders
    email: EmailClient
    interval_s: float
    stuck_after: timedelta
    receipt_timeout: timedelta
    registry: CollectorRegistry
    batch: int = 50
    by_status: Gauge = field(init=False)
    uncertain: Gauge = field(init=False)

    def __post_init__(self) -> None:
        self.by_status = Gauge("lienthong_notifications", "Notifications by channel and status",
                               ["channel", "status"], registry=self.registry)  # fmt: skip
        self.uncertain = Gauge("lienthong_uncertain_sends",
                               "Sends that may have reached an applicant twice (emails resent after a crash)",
                               registry=self.registry)  # fmt: skip

    async def run(self) -> None:
        await keep_running(self._run, event="sender.restarting", errors=DATABASE_ERRORS)

    async def _run(self) -> None:
        looked_after_at = -math.inf
        while True:
            sent = await self.send_due()
            if time.monotonic() - looked_after_at >= self.interval_s:
                await self._look_after()
                looked_after_at = time.monotonic()
            if not sent:  # a sender with work goes straight on: a pause per batch would cap its rate
                await asyncio.sleep(self.interval_s)

    async def _look_after(self) -> None:
        """Sends whose receipt never came, and the gauges: once an interval, however busy the sender is."""
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                await handlers.expire_unreceipted(self.ctx, conn, self.ctx.clock.now() - self.receipt_timeout)
            for (channel, status), count in (await store.counts_by_status(conn)).items():
                self.by_status.labels(channel, status).set(count)
            self.uncertain.set(await store.uncertain_total(conn))

    async def send_due(self) -> int:
        """Send a batch of due notifications: one recipient's messages in order (the SMS limit counts them),
        different recipients at once."""
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await store.claim_sends(conn, self.ctx.clock.now(), self.stuck_after, self.batch)
        by_recipient: dict[str, list[store.NotificationRow]] = defaultdict(list)
        for row in rows:
            by_recipient[row.recipient].append(row)
        await asyncio.gather(*(self._send_in_order(queue) for queue in by_recipient.values()))
        return len(rows)

    async def _send_in_order(self, rows: list[store.NotificationRow]) -> None:
        for row in rows:
            await self.send_one(row)

    async def send_one(self, row: store.NotificationRow) -> None:
        now = self.ctx.clock.now()
        if row.channel == "sms":
            async with self.pool.acquire() as conn:
                recent = await store.sms_sent_since(conn, row.recipient, now - timedelta(hours=1))
                allowed = sms_allowed_at(self.ctx.limits, now, recent)
                if allowed > now:
                    await store.postpone(conn, row.id, allowed)
                    return
            result = await self._send_sms(row)
        else:
            content = RenderedEmail(row.template, row.template_version, row.mandatory, subject=row.subject or "",
                                    text=row.body_text, html=row.body_html or "")  # fmt: skip
            result = await self.email.send_email(row.id, row.recipient, content)
        after = after_send(self.ctx.limits, row.channel, result, row.attempts, self.ctx.clock.now())
        async with self.pool.acquire() as conn, conn.transaction():
            await handlers.record_send(self.ctx, conn, row, result, after)

    async def _send_sms(self, row: store.NotificationRow) -> SendResult:
        async def pin(provider: str) -> None:
            async with self.pool.acquire() as conn:
                await store.pin(conn, row.id, provider)

        request = SmsRequest(row.id, row.recipient, row.body_text)
        return await self.sms.send_sms(request, only=row.provider if row.pinned else None, before_each=pin)


@dataclass
class SenderWorker:
    """The sender with its providers, which live as long as it runs (their HTTP clients are closed after)."""

    ctx: NotificationContext
    pool: asyncpg.Pool
    settings: NotificationSettings
    registry: CollectorRegistry

    async def run(self) -> None:
        metrics = ProviderMetrics(self.registry)
        email = EmailClient(SmtpConfig.from_settings(self.settings), metrics, clock=self.ctx.clock)
        async with sms_providers(self.settings, metrics) as sms:
            sender = Sender(
                self.ctx, self.pool, sms, email, self.settings.sender_interval_s,
                timedelta(seconds=self.settings.stuck_send_s), timedelta(seconds=self.settings.receipt_timeout_s),
                self.registry,
            )  # fmt: skip
            await sender.run()
