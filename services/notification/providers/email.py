"""Email through an SMTP relay, with aiosmtplib: one multipart/alternative message (plain text and HTML, UTF-8)
per notification.

SMTP has no idempotency key, so the Message-ID stands in for one: it is fixed per notification
(`<notification id@domain>`). A resend after an uncertain failure (a timeout once the message may have been
transmitted) can deliver a second copy, but the copies are recognisably the same notification, and the
uncertain send is counted (design.md, "External side effects").
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from typing import Literal
from uuid import UUID

import aiosmtplib
import structlog

from services.notification.providers import ProviderMetrics, SendOutcome, SendResult
from services.notification.settings import NotificationSettings
from services.notification.templates import RenderedEmail
from shared.clock import Clock, SystemClock

log = structlog.get_logger(__name__)


# The email package's compat32 API (MIMEMultipart, Header), which builds a message as it is given: `EmailMessage`
# parses every header it is set into objects, which cost 2.8 ms of CPU per message against 0.6 ms here, and folds a
# long non-ASCII Subject into encoded words that lose their spaces before CPython 3.15 (gh-144156).
WIRE_POLICY = compat32.clone(linesep="\r\n")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: Literal["none", "starttls", "tls"]
    username: str | None
    password: str | None
    timeout_s: float
    sender: str
    message_id_domain: str

    @classmethod
    def from_settings(cls, settings: NotificationSettings) -> SmtpConfig:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout_s=settings.smtp_timeout_s,
            sender=settings.email_sender,
            message_id_domain=settings.message_id_domain,
        )


def message_id(notification_id: UUID, domain: str) -> str:
    return f"<{notification_id}@{domain}>"


def build_email(
    content: RenderedEmail, *, notification_id: UUID, sender: str, recipient: str, domain: str, sent_at: datetime
) -> bytes:
    """The MIME message as it goes to the relay: headers encoded as RFC 2047 where they are not ASCII, text and HTML
    alternatives in UTF-8."""
    message = MIMEMultipart("alternative")
    message["From"] = formataddr(parseaddr(sender), charset="utf-8")
    message["To"] = recipient
    # compat32 takes a Header and encodes it as it is; typeshed allows only a str.
    message["Subject"] = Header(content.subject, "utf-8", header_name="Subject")  # type: ignore[assignment]
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id(notification_id, domain)
    # Which template and version wrote it, for whoever reads a complaint about a message.
    message["X-Lienthong-Template"] = f"{content.template}; version={content.version}"
    message.attach(MIMEText(content.text, "plain", "utf-8"))
    message.attach(MIMEText(content.html, "html", "utf-8"))
    return message.as_bytes(policy=WIRE_POLICY)


class EmailClient:
    """Sends over connections kept open to the relay between messages (SMTP sends one message at a time on a
    connection; the sender's concurrent sends each take one): a connection, EHLO and login per message cost more
    than the message."""

    name = "smtp"
    IDLE_CONNECTIONS = 4  # kept open at most; the sender sends to a few recipients at once

    def __init__(self, config: SmtpConfig, metrics: ProviderMetrics, clock: Clock | None = None) -> None:
        self.config = config
        self.metrics = metrics
        self.clock = clock or SystemClock()
        self._idle: list[aiosmtplib.SMTP] = []

    async def _connection(self) -> aiosmtplib.SMTP:
        """An open connection: an idle one that still answers (the relay may have closed it meanwhile, and nothing
        was sent on it yet, so trying another is safe), else a new one."""
        while self._idle:
            client = self._idle.pop()
            try:
                await client.noop()
                return client
            except aiosmtplib.SMTPException:
                client.close()
        config = self.config
        client = aiosmtplib.SMTP(
            hostname=config.host, port=config.port, username=config.username, password=config.password,
            timeout=config.timeout_s, use_tls=config.security == "tls", start_tls=config.security == "starttls",
        )  # fmt: skip
        await client.connect()
        return client

    def _give_back(self, client: aiosmtplib.SMTP) -> None:
        if client.is_connected and len(self._idle) < self.IDLE_CONNECTIONS:
            self._idle.append(client)
        else:
            client.close()

    async def send_email(self, notification_id: UUID, recipient: str, content: RenderedEmail) -> SendResult:
        """Send one email; never raises for anything the relay or the network does."""
        config = self.config
        message = build_email(
            content,
            notification_id=notification_id,
            sender=config.sender,
            recipient=recipient,
            domain=config.message_id_domain,
            sent_at=self.clock.now(),
        )
        started = time.perf_counter()
        outcome, code, uncertain = SendOutcome.TECHNICAL_FAILURE, None, False
        client: aiosmtplib.SMTP | None = None
        try:
            client = await self._connection()
            await client.sendmail(parseaddr(config.sender)[1], [recipient], message)
            outcome = SendOutcome.ACCEPTED
        except aiosmtplib.SMTPRecipientsRefused as refused:
            reply = refused.recipients[0].code
            outcome = SendOutcome.PERMANENT_FAILURE if reply >= 500 else SendOutcome.TEMPORARY_FAILURE
            code = f"smtp-{reply}"
        except aiosmtplib.SMTPConnectError:
            code = "smtp-connect"
        except aiosmtplib.SMTPResponseException as error:
            code = f"smtp-{error.code}"  # the relay refused (sender, data, authentication): our side or its
        except (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected) as error:
            code, uncertain = type(error).__name__, True  # cut off, perhaps after the data went through
        except aiosmtplib.SMTPException as error:
            code = type(error).__name__
        if client is not None:
            if uncertain:  # cut off mid-send: the connection's state is unknown
                client.close()
            else:
                self._give_back(client)
        result = SendResult(
            self.name,
            outcome,
            message_id(notification_id, config.message_id_domain),
            code,
            uncertain,
            time.perf_counter() - started,
        )
        self.metrics.observe("email", result)
        fields = {"provider": self.name, "notification_id": str(notification_id), "elapsed_s": result.elapsed_s}
        if outcome is SendOutcome.ACCEPTED:
            log.info("email.accepted", message_id=result.provider_reference, **fields)
        else:
            log.warning("email.failed", outcome=outcome.value, failure_code=code, uncertain=uncertain, **fields)
        return result
