"""Postal as a separate process under test, with the carrier simulator as its outside world (a process of its own,
moving shipments on the shared test clock, one stage a second), and the driver that plays intake and routing around
it and asks the carrier what it received."""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from shared.events.catalogue.common import AgencyRef, DocumentRef, ReturnChannel
from shared.events.catalogue.contacts import ContactRecorded, PostalAddress
from shared.events.examples import examples
from tests.processes import KillableProcess, free_low_port, wait_for
from tests.support.driver import CONTACTS, INTAKE, ROUTING, Dossier, ServiceDriver
from tests.support.services import service_under_test

DESK = "H29.101.1"


@dataclass(frozen=True)
class PostalStack:
    base: str
    home: Path
    carrier: str
    webhook_secret: str  # what the carrier signs its webhooks with, and postal checks them with


@contextlib.contextmanager
def carrier_simulator(home: Path, postal_port: int, webhook_secret: str) -> Iterator[tuple[str, KillableProcess]]:
    port = free_low_port()
    args = ["-m", "services.postal.simulators.carrier", "--port", str(port), "--stage-s", "1", "--tick-s", "0.1",
            "--clock-file", str(home / "clock.json"),
            "--callback-url", f"http://127.0.0.1:{postal_port}/carrier/webhooks"]  # fmt: skip
    env = {**os.environ, "POSTAL_CARRIER_WEBHOOK_SECRET": webhook_secret}
    carrier = KillableProcess("carrier", args, env, home / "carrier.log")
    carrier.start()
    try:
        wait_for(f"http://127.0.0.1:{port}/_sim/orders")
        yield f"http://127.0.0.1:{port}", carrier
    finally:
        carrier.stop()


FAST = {"POSTAL_PLACER_INTERVAL_S": "0.2", "POSTAL_ORDER_RETRY_S": "0.5", "POSTAL_CARRIER_TIMEOUT_S": "2"}


@contextlib.contextmanager
def postal_stack(infrastructure_env: dict[str, str], server_database_url: str, home: Path) -> Iterator[PostalStack]:
    port, secret = free_low_port(), secrets.token_hex(32)
    (home / "clock.json").write_text('{"offset_s": 0}')
    with carrier_simulator(home, port, secret) as (carrier, _):
        env = {**FAST, "POSTAL_CARRIER_URL": carrier, "POSTAL_CARRIER_WEBHOOK_SECRET": secret}
        with service_under_test("postal", infrastructure_env, server_database_url, home, extra_env=env,
                                port=port) as base:  # fmt: skip
            yield PostalStack(base, home, carrier, secret)


def new_dossier() -> Dossier:
    return Dossier(str(uuid.uuid4()), f"{DESK}-261202-{uuid.uuid4().int % 10**8:08d}", DESK)


class PostalDriver(ServiceDriver):
    """Plays intake (contacts, pickup requests) and routing (results going back by post) around postal."""

    carrier: str = ""

    async def contact(self, dossier: Dossier) -> ContactRecorded:
        address = PostalAddress(street="12 Lê Lợi", ward_code="26734", province_code="79", ward="Phường Sài Gòn",
                                province="Thành phố Hồ Chí Minh")  # fmt: skip
        contact = ContactRecorded(
            applicant_kind="citizen", full_name="Lê Văn Cường", phone="0912345678", email="cuong@example.org",
            postal_address=address, notify_by="sms", recorded_at=datetime.now(UTC),
        )  # fmt: skip
        await self.publish(dossier, contact, CONTACTS)
        return contact

    async def ask_pickup(self, dossier: Dossier) -> None:
        asked = examples()["dossier.pickup-requested"].model_copy(update={
            "dossier_code": dossier.code, "receiving_agency": AgencyRef(code=DESK, title="Trung tâm phường Sài Gòn"),
            "fee_vnd": 8000})  # fmt: skip
        await self.publish(dossier, asked, INTAKE)

    async def result_ready(self, dossier: Dossier, channel: str = "post") -> None:
        ready = examples()["dossier.result-ready"].model_copy(update={
            "return_channel": ReturnChannel(channel), "agency": AgencyRef(code=DESK, title="Trung tâm phường Sài Gòn"),
            "documents": [DocumentRef(code="result", title="Giấy chứng nhận")]})  # fmt: skip
        await self.publish(dossier, ready, ROUTING)

    async def at_carrier(self, what: str) -> Any:
        async with httpx.AsyncClient(base_url=self.carrier, timeout=10) as http:
            return (await http.get(f"/_sim/{what}")).json()

    async def tell_carrier(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        async with httpx.AsyncClient(base_url=self.carrier, timeout=10) as http:
            (await http.request(method, f"/_sim/{path}", json=body)).raise_for_status()
