"""Notification as a separate process under test, with its outside world simulated over the real protocols: the
SMS gateway simulator (both gateway protocols, delivery receipts posted back) and the SMTP sink, each its own
process; and the driver that plays intake, routing and postal around it and reads what the applicants received."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from shared.events.catalogue.contacts import ContactRecorded
from tests.processes import KillableProcess, free_low_port, wait_for
from tests.support.driver import CONTACTS, Dossier, ServiceDriver
from tests.support.services import service_under_test

SIMULATORS = "services.notification.simulators"


@dataclass(frozen=True)
class Providers:
    gateway: str  # the SMS gateway simulator's base URL
    sink: str  # the SMTP sink's HTTP address
    env: dict[str, str]  # what points notification (on `port`) at them, and checks the gateway's receipts
    receipt_secrets: dict[str, str]  # per gateway protocol, what its delivery receipts are signed with


@contextlib.contextmanager
def simulated_providers(home: Path, port: int) -> Iterator[Providers]:
    """The two simulators as processes, the gateway's delivery reports posted to notification on `port`."""
    gateway_port, smtp_port, sink_port = (free_low_port() for _ in range(3))
    receipt_secrets = {protocol: secrets.token_hex(32) for protocol in ("brandname", "ott")}
    signing = {f"NOTIFICATION_SMS_{protocol.upper()}_RECEIPT_SECRET": secret
               for protocol, secret in receipt_secrets.items()}  # fmt: skip
    gateway = KillableProcess("sms-gateway", [
        "-m", f"{SIMULATORS}.sms_gateway", "--port", str(gateway_port), "--receipt-delay-s", "0.2", "--slow-s", "3",
        "--callback-url", f"http://127.0.0.1:{port}/receipts"], {**os.environ, **signing},
        home / "sms-gateway.log")  # fmt: skip
    sink_args = ["-m", f"{SIMULATORS}.smtp_sink", "--smtp-port", str(smtp_port), "--http-port", str(sink_port)]
    sink = KillableProcess("smtp-sink", sink_args, dict(os.environ), home / "smtp-sink.log")
    env = {
        "NOTIFICATION_SMTP_PORT": str(smtp_port),
        "NOTIFICATION_SMS_BRANDNAME_URL": f"http://127.0.0.1:{gateway_port}/brandname",
        "NOTIFICATION_SMS_OTT_URL": f"http://127.0.0.1:{gateway_port}/ott",
        "NOTIFICATION_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "NOTIFICATION_SENDER_INTERVAL_S": "0.2",
        "NOTIFICATION_SMS_TIMEOUT_S": "1",
        "NOTIFICATION_RETRY_DELAYS_S": "0.5,0.5",
        "NOTIFICATION_STUCK_SEND_S": "3",
        **signing,
    }
    for simulator in (gateway, sink):
        simulator.start()
    try:
        wait_for(f"http://127.0.0.1:{gateway_port}/_sim/messages")
        wait_for(f"http://127.0.0.1:{sink_port}/messages")
        yield Providers(f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{sink_port}", env, receipt_secrets)
    finally:
        for simulator in (gateway, sink):
            simulator.stop()


@dataclass(frozen=True)
class NotificationStack:
    base: str
    home: Path
    providers: Providers


@contextlib.contextmanager
def notification_stack(
    infrastructure_env: dict[str, str], server_database_url: str, home: Path, extra_env: dict[str, str] | None = None
) -> Iterator[NotificationStack]:
    port = free_low_port()
    with simulated_providers(home, port) as providers, service_under_test(
        "notification", infrastructure_env, server_database_url, home, extra_env=providers.env | (extra_env or {}),
        port=port,
    ) as base:  # fmt: skip
        yield NotificationStack(base, home, providers)


class NotificationDriver(ServiceDriver):
    """Plays intake (contacts, its lifecycle events), routing and postal around notification."""

    gateway: str = ""
    sink: str = ""

    async def contact(
        self, dossier: Dossier, phone: str | None = None, email: str | None = None,
        notify_by: Literal["sms", "email", "both"] = "sms", language: Literal["vi", "en"] = "vi",
        optional_messages: bool = True,
    ) -> ContactRecorded:  # fmt: skip
        # A number of its own by default: the limit of SMS per number and hour is not what most tests are about.
        phone = phone or f"0913{random.randrange(10**6):06d}"
        contact = ContactRecorded(
            applicant_kind="citizen", full_name="Trần Thị Bình", phone=phone, email=email, notify_by=notify_by,
            language=language, optional_messages=optional_messages, recorded_at=datetime.now(UTC),
        )  # fmt: skip
        await self.publish(dossier, contact, CONTACTS)
        return contact

    async def sms(self) -> dict[str, Any]:
        """What the SMS gateway simulator accepted: `messages`, `counts` per idempotency key, `submissions`."""
        async with httpx.AsyncClient(base_url=self.gateway, timeout=10) as http:
            return dict((await http.get("/_sim/messages")).json())

    async def emails(self) -> dict[str, Any]:
        """What the SMTP sink received: `messages` (headers, parts) and `counts` per Message-ID."""
        async with httpx.AsyncClient(base_url=self.sink, timeout=10) as http:
            return dict((await http.get("/messages")).json())

    async def sms_about(self, dossier: Dossier) -> list[dict[str, Any]]:
        return [m for m in (await self.sms())["messages"] if dossier.code in m["text"]]

    async def emails_about(self, dossier: Dossier) -> list[dict[str, Any]]:
        return [m for m in (await self.emails())["messages"] if dossier.code in m["headers"].get("Subject", "")]
