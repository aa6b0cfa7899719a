"""A local SMTP server (aiosmtpd) that keeps every message it receives, for tests and the local stack.

    python -m services.notification.simulators.smtp_sink --smtp-port 8025 --http-port 8027

Over HTTP: `GET /messages` gives every message received (headers decoded, each MIME part with its content type,
charset and text) and `counts`, the number of copies per Message-ID: more than one means a resend after an
uncertain failure; `DELETE /messages` forgets them. In a test's own event loop: `async with smtp_sink(host, port)
as sink:` and read `sink.received`.

Magic recipients: an address whose local part is `bounce` is refused with 550 (a permanent failure), `full` with
452 (mailbox full, a temporary failure).
"""

from __future__ import annotations

import argparse
import asyncio
import weakref
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import cached_property
from typing import Any

import uvicorn
import uvloop
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI

from shared.logging import configure_logging
from shared.settings import LogSettings

REFUSALS = {"bounce": "550 5.1.1 Mailbox does not exist", "full": "452 4.2.2 Mailbox full"}


@dataclass(frozen=True)
class ReceivedMail:
    envelope_from: str
    recipients: list[str]
    raw: bytes

    @cached_property
    def message(self) -> EmailMessage:
        """Parsed when first read, not as it arrives: a sink under load is mostly written, seldom read."""
        message = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(message, EmailMessage)  # what policy.default parses into
        return message

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def describe(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "envelope_from": self.envelope_from,
            "recipients": self.recipients,
            "headers": {name: str(value) for name, value in self.message.items()},
            "parts": [_describe_part(part) for part in self.message.walk() if not part.is_multipart()],
        }


def _describe_part(part: EmailMessage) -> dict[str, Any]:
    content = part.get_content()  # text as str, anything else (an attachment) as bytes
    return {
        "content_type": part.get_content_type(),
        "charset": part.get_content_charset(),
        "content": content if isinstance(content, str) else f"({len(content)} bytes)",
    }


class Sink:
    """The aiosmtpd handler: refuses the magic recipients, keeps every message."""

    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []

    def counts(self) -> Counter[str]:
        return Counter(mail.message_id for mail in self.received)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = REFUSALS.get(address.partition("@")[0].lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        self.received.append(ReceivedMail(envelope.mail_from or "", list(envelope.rcpt_tos), raw))
        return "250 Message accepted for delivery"


@asynccontextmanager
async def smtp_sink(host: str, port: int) -> AsyncIterator[Sink]:
    """An SMTP server on host:port in the running event loop, for as long as the block lasts."""
    loop = asyncio.get_running_loop()
    sink = Sink()
    sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()  # the open ones: a closed session is collected

    def session() -> SMTP:
        # A fixed hostname: aiosmtpd would otherwise look up the machine's FQDN, which can take seconds.
        smtp = SMTP(sink, hostname="smtp-sink.local", loop=loop)
        sessions.add(smtp)
        return smtp

    server = await loop.create_server(session, host, port)
    try:
        yield sink
    finally:
        server.close()
        # As a relay that stops: the connections clients keep open end too (closing the server does not end them).
        for smtp in list(sessions):
            if smtp.transport is not None:
                smtp.transport.close()
        await server.wait_closed()


def create_app(sink: Sink) -> FastAPI:
    app = FastAPI(title="lienthong SMTP sink")

    @app.get("/messages")
    async def messages() -> dict[str, Any]:
        return {"messages": [mail.describe() for mail in sink.received], "counts": sink.counts()}

    @app.delete("/messages", status_code=204)
    async def forget() -> None:
        sink.received.clear()

    return app


async def serve(host: str, smtp_port: int, http_port: int) -> None:
    async with smtp_sink(host, smtp_port) as sink:
        await uvicorn.Server(uvicorn.Config(create_app(sink), host=host, port=http_port, log_level="warning")).serve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--http-port", type=int, default=8027)
    args = parser.parse_args()
    configure_logging(LogSettings(), service="smtp-sink")
    uvloop.run(serve(args.host, args.smtp_port, args.http_port))  # the event loop the services run on too


if __name__ == "__main__":
    main()
