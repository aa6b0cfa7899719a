"""The real carrier adapter against the carrier simulator over real HTTP on 127.0.0.1, with the simulator's status
webhooks POSTed to a receiver here and its time moved by a controllable clock file: orders are made once per
idempotency key, cancelled, tracked; webhooks arrive as the clock passes each stage, in order, late or repeated as
scripted, signed with the secret shared with postal, and applied by the domain they give the right state; an outage
is `unavailable`; and no request carries more than the carrier needs. No broker or database is needed; the last
tests start the simulator as a command, which will not send webhooks without a secret to sign them with."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry

from services.postal.carrier import CarrierAddress, CarrierMetrics, CarrierOrder, CarrierOutcome, Party, StatusReport
from services.postal.carrier.vnpost import VnpostClient, parse_status_webhook, vnpost_client
from services.postal.domain import ShipmentState, Tracking, Verdict, report
from services.postal.settings import PostalSettings
from services.postal.simulators import carrier as simulator
from services.postal.simulators.carrier_state import Carrier
from shared.callback_signature import SignatureRefusedError, verify
from shared.clock import ControllableClock
from shared.events.catalogue.postal import Direction
from shared.logging import PERSONAL_ID
from tests.infrastructure import REPO
from tests.processes import free_low_port
from tests.support.serving import serving

STAGE_S = 60.0
SECRET = "the-carrier-webhook-secret-of-these-tests"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
APPLICANT_PERSONAL_ID = "079203001234"  # the applicant's, which intake keeps: it must reach no carrier
APPLICANT = Party("Nguyễn Thị Lan", "0912345678", CarrierAddress("12 Lê Lợi", "26734", None, "79"))
DESK = Party("Trung tâm Phục vụ hành chính công phường Sài Gòn", "02838223456",
             CarrierAddress("45 Lê Duẩn", "26740", None, "79"))  # fmt: skip
ORDER_FIELDS = {
    "CustomerCode", "OrderNumber", "IdempotencyKey", "ServiceCode", "CodAmount", "WeightGram",
    *(f"{role}{part}" for role in ("Sender", "Receiver")
      for part in ("Fullname", "Tel", "Address", "WardCode", "DistrictCode", "ProvinceCode")),
}  # fmt: skip
DOSSIERS = itertools.count(1)


def order(direction: Direction) -> CarrierOrder:
    code = f"H29.1-260302-{next(DOSSIERS):04d}"
    sender, receiver = (APPLICANT, DESK) if direction is Direction.PICKUP else (DESK, APPLICANT)
    return CarrierOrder(uuid4(), code, direction, f"BCCI-{direction}", sender, receiver, 8000, 400)


def vnpost_at(http: httpx.AsyncClient) -> VnpostClient:
    return VnpostClient(http, customer_code="LIENTHONG", metrics=CarrierMetrics(CollectorRegistry()))


@dataclass
class Receiver:
    """Stands for postal's webhook endpoint: checks each webhook's signature as postal does, keeps each body it
    acknowledged, and refuses as many as it is told to."""

    url: str = ""
    received: list[bytes] = field(default_factory=list)
    refusals: dict[str, int] = field(default_factory=dict)  # by order number: how many to answer 503 first
    refused: list[bytes] = field(default_factory=list)
    unsigned: list[str] = field(default_factory=list)  # why each badly signed webhook was refused

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/webhooks")
        async def receive(request: Request) -> Response:
            body = await request.body()
            try:
                verify(SECRET, body, request.headers)
            except SignatureRefusedError as refusal:
                self.unsigned.append(str(refusal))
                return Response(status_code=401)
            number = json.loads(body)["OrderNumber"]
            if self.refusals.get(number):
                self.refusals[number] -= 1
                self.refused.append(body)
                return Response(status_code=503)
            self.received.append(body)
            return Response(status_code=204)

        return app

    def of(self, order_number: str) -> list[StatusReport]:
        reports = [parse_status_webhook(body) for body in self.received]
        return [one for one in reports if one.order_number == order_number]

    async def wait_for(self, order_number: str, count: int) -> list[StatusReport]:
        """Exactly `count` webhooks of the order: waits for them, then makes sure no more follow."""
        deadline = time.monotonic() + 10
        while len(self.of(order_number)) < count:
            assert time.monotonic() < deadline, f"{len(self.of(order_number))} webhooks of {order_number}, not {count}"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # ten ticks of the simulator: nothing else was due
        reports = self.of(order_number)
        assert len(reports) == count
        assert self.unsigned == [], "every webhook is signed with the secret shared with postal"
        return reports


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    receiving = Receiver()
    async with serving(receiving.app()) as url:
        receiving.url = f"{url}/webhooks"
        yield receiving


@pytest.fixture(scope="module")
def clock(tmp_path_factory: pytest.TempPathFactory) -> ControllableClock:
    controlled = ControllableClock(tmp_path_factory.mktemp("clock") / "clock.json")
    controlled.set(T0, frozen=True)  # frozen: only the tests move it
    return controlled


@pytest.fixture(scope="module")
async def carrier_url(receiver: Receiver, clock: ControllableClock) -> AsyncIterator[str]:
    state = Carrier(ControllableClock(clock.control_file), receiver.url, SECRET, stage_s=STAGE_S, tick_s=0.02)
    async with serving(simulator.create_app(state)) as url:
        yield url


@pytest.fixture
async def vnpost(carrier_url: str) -> AsyncIterator[VnpostClient]:
    async with httpx.AsyncClient(base_url=carrier_url, timeout=5) as http:
        yield vnpost_at(http)


@pytest.fixture
async def sim(carrier_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=carrier_url) as http:
        yield http


async def simulated(sim: httpx.AsyncClient, what: str) -> list[dict[str, Any]]:
    answer = (await sim.get(f"/_sim/{what}")).raise_for_status()
    found: list[dict[str, Any]] = answer.json()
    return found


def applied(direction: Direction, reports: list[StatusReport]) -> tuple[list[Verdict], Tracking]:
    tracking, verdicts = Tracking(direction), []
    for one in reports:
        verdict, tracking = report(tracking, one.status)
        verdicts.append(verdict)
    return verdicts, tracking


async def test_one_idempotency_key_makes_one_order_however_often_and_concurrently_placed(
    vnpost: VnpostClient, sim: httpx.AsyncClient
) -> None:
    shipment = order(Direction.PICKUP)
    results = await asyncio.gather(*(vnpost.create_order(shipment) for _ in range(5)))
    assert {result.outcome for result in results} == {CarrierOutcome.ACCEPTED}
    placed = [result.value for result in results if result.value is not None]
    assert len({one.tracking_number for one in placed}) == 1
    assert sorted(one.replayed for one in placed) == [False, True, True, True, True]
    [made] = [one for one in await simulated(sim, "orders") if one["order_number"] == shipment.order_number]
    assert (made["idempotency_key"], made["creates"], made["direction"]) == (str(shipment.shipment_id), 5, "pickup")
    other = CarrierOrder(uuid4(), shipment.dossier_code, Direction.PICKUP, "BCCI-NH", APPLICANT, DESK, 0, 400)
    refused = await vnpost.create_order(other)  # another shipment under the same order number
    assert (refused.outcome, refused.failure_code) == (CarrierOutcome.REJECTED, "DUPLICATE_ORDER_NUMBER")


async def test_webhooks_come_as_the_clock_passes_each_stage_and_tracking_agrees(
    vnpost: VnpostClient, receiver: Receiver, clock: ControllableClock
) -> None:
    shipment, created = order(Direction.PICKUP), clock.now()
    assert (await vnpost.create_order(shipment)).outcome is CarrierOutcome.ACCEPTED
    clock.advance(timedelta(seconds=STAGE_S - 1))
    await receiver.wait_for(shipment.order_number, 0)
    for count in range(1, 7):
        clock.advance(timedelta(seconds=STAGE_S if count > 1 else 1))
        await receiver.wait_for(shipment.order_number, count)
    reports = receiver.of(shipment.order_number)
    assert [one.status.code for one in reports] == [2, 4, 6, 10, 12, 14]
    assert [one.status.at for one in reports] == [created + timedelta(seconds=STAGE_S * n) for n in range(1, 7)]
    verdicts, tracking = applied(Direction.PICKUP, reports)
    assert (verdicts, tracking.state, tracking.raw_code) == ([Verdict.APPLIED] * 6, ShipmentState.HANDED_TO_AGENCY, 14)
    tracked = await vnpost.track(shipment.order_number)
    assert tracked.value is not None
    assert tracked.value.statuses == tuple(one.status for one in reports)


async def test_a_failed_delivery_is_tried_again_then_returned_to_the_agency(
    vnpost: VnpostClient, sim: httpx.AsyncClient, receiver: Receiver, clock: ControllableClock
) -> None:
    shipment = order(Direction.RETURN)
    await vnpost.create_order(shipment)
    (await sim.post(f"/_sim/orders/{shipment.order_number}/script", json={"plan": "failed"})).raise_for_status()
    clock.advance(timedelta(seconds=STAGE_S * 10))
    reports = await receiver.wait_for(shipment.order_number, 10)
    assert [one.status.code for one in reports] == [2, 6, 10, 12, 15, 12, 15, 16, 17, 18]
    assert all(one.status.reason for one in reports if one.status.code == 15)
    _, tracking = applied(Direction.RETURN, reports)
    assert (tracking.state, tracking.raw_code) == (ShipmentState.RETURNED_TO_AGENCY, 18)


async def test_scripted_late_and_repeated_webhooks_arrive_so_and_apply_once_in_event_time_order(
    vnpost: VnpostClient, sim: httpx.AsyncClient, receiver: Receiver, clock: ControllableClock
) -> None:
    shipment = order(Direction.RETURN)
    await vnpost.create_order(shipment)
    stages = [{"code": 2}, {"code": 6}, {"code": 10, "late_by": 2}, {"code": 12}, {"code": 14, "repeat": 3}]
    (await sim.post(f"/_sim/orders/{shipment.order_number}/script", json={"stages": stages})).raise_for_status()
    clock.advance(timedelta(seconds=STAGE_S * 5))
    reports = await receiver.wait_for(shipment.order_number, 7)
    assert [one.status.code for one in reports] == [2, 6, 12, 10, 14, 14, 14]
    assert len({one.status.event_id for one in reports}) == 5
    verdicts, tracking = applied(Direction.RETURN, reports)
    assert verdicts == [Verdict.APPLIED] * 3 + [Verdict.STALE, Verdict.APPLIED] + [Verdict.DUPLICATE] * 2
    assert (tracking.state, tracking.raw_code) == (ShipmentState.DELIVERED, 14)


async def test_a_refused_webhook_is_sent_again_until_acknowledged(
    vnpost: VnpostClient, receiver: Receiver, clock: ControllableClock
) -> None:
    shipment = order(Direction.RETURN)
    await vnpost.create_order(shipment)
    receiver.refusals[shipment.order_number] = 2
    clock.advance(timedelta(seconds=STAGE_S))
    [accepted] = await receiver.wait_for(shipment.order_number, 1)
    refused = [parse_status_webhook(body) for body in receiver.refused]
    assert [one.status for one in refused if one.order_number == shipment.order_number] == [accepted.status] * 2


async def test_an_order_is_cancelled_until_picked_up(
    vnpost: VnpostClient, receiver: Receiver, clock: ControllableClock
) -> None:
    shipment = order(Direction.PICKUP)
    await vnpost.create_order(shipment)
    first, again = await vnpost.cancel_order(shipment.order_number), await vnpost.cancel_order(shipment.order_number)
    assert first.outcome is again.outcome is CarrierOutcome.ACCEPTED
    [cancelled] = await receiver.wait_for(shipment.order_number, 1)
    assert cancelled.status.code == 22
    clock.advance(timedelta(seconds=STAGE_S * 7))  # its plan was dropped: nothing more comes
    await receiver.wait_for(shipment.order_number, 1)
    late = order(Direction.PICKUP)
    await vnpost.create_order(late)
    clock.advance(timedelta(seconds=STAGE_S * 3))  # 2, 4, 6: picked up
    await receiver.wait_for(late.order_number, 3)
    refused = await vnpost.cancel_order(late.order_number)
    assert (refused.outcome, refused.failure_code) == (CarrierOutcome.REJECTED, "NOT_CANCELLABLE")
    unknown = order(Direction.PICKUP).order_number
    for result in (await vnpost.cancel_order(unknown), await vnpost.track(unknown)):
        assert (result.outcome, result.failure_code) == (CarrierOutcome.REJECTED, "ORDER_NOT_FOUND")


async def test_an_outage_is_unavailable_and_the_order_goes_out_after_it(
    vnpost: VnpostClient, sim: httpx.AsyncClient
) -> None:
    shipment = order(Direction.RETURN)
    (await sim.put("/_sim/outage")).raise_for_status()
    try:
        placing, tracking = await vnpost.create_order(shipment), await vnpost.track(shipment.order_number)
    finally:
        (await sim.delete("/_sim/outage")).raise_for_status()
    for during in (placing, tracking):
        assert (during.outcome, during.failure_code) == (CarrierOutcome.UNAVAILABLE, "http-503")
    after = await vnpost.create_order(shipment)
    assert after.value is not None
    assert not after.value.replayed  # the order was made now, not during the outage
    requests = await simulated(sim, "requests")
    assert [one["method"] for one in requests if shipment.order_number in one["path"]] == ["GET"]  # recorded too
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_low_port()}") as nowhere:
        down = await vnpost_at(nowhere).track(shipment.order_number)
    assert (down.outcome, down.failure_code) == (CarrierOutcome.UNAVAILABLE, "ConnectError")


async def test_no_request_carries_a_personal_id_or_more_than_the_order(
    vnpost: VnpostClient, sim: httpx.AsyncClient
) -> None:
    for direction in Direction:
        shipment = order(direction)
        assert (await vnpost.create_order(shipment)).outcome is CarrierOutcome.ACCEPTED
        await vnpost.track(shipment.order_number)
        await vnpost.cancel_order(shipment.order_number)
    requests = await simulated(sim, "requests")
    assert {request["path"].rsplit("/", 1)[-1] for request in requests} >= {"orders", "cancel"}
    for request in requests:
        text = json.dumps(request["body"], ensure_ascii=False)
        assert APPLICANT_PERSONAL_ID not in text
        assert not PERSONAL_ID.search(text), text  # nothing shaped like a personal ID number
    creates = [request["body"] for request in requests if request["path"] == "/api/v1/orders" and request["body"]]
    assert creates
    assert all(set(body) == ORDER_FIELDS for body in creates)
    pickup = next(body for body in creates if body["OrderNumber"].endswith("-NH"))
    assert (pickup["SenderFullname"], pickup["ReceiverTel"]) == (APPLICANT.name, DESK.phone)


async def test_the_client_of_the_settings(carrier_url: str) -> None:
    settings = PostalSettings(carrier_url=carrier_url, carrier_api_key="secret", carrier_timeout_s=5)
    registry = CollectorRegistry()
    async with vnpost_client(settings, CarrierMetrics(registry)) as client:
        assert client.http.headers["Authorization"] == "Bearer secret"
        assert (await client.create_order(order(Direction.RETURN))).outcome is CarrierOutcome.ACCEPTED
    labels = {"carrier": "vnpost", "operation": "create-order", "outcome": "accepted"}
    assert registry.get_sample_value("lienthong_carrier_calls_total", labels) == 1


# -- the simulator as a command ------------------------------------------------------------------------------------


@pytest.fixture
def command(receiver: Receiver, tmp_path: Path) -> Iterator[tuple[str, ControllableClock]]:
    port, clock = free_low_port(), ControllableClock(tmp_path / "clock.json")
    clock.set(T0, frozen=True)
    with (tmp_path / "carrier.log").open("ab") as log:  # kept with the run's logs, which make test scans
        process = subprocess.Popen(
            [sys.executable, "-m", "services.postal.simulators.carrier", "--port", str(port), "--callback-url",
             receiver.url, "--clock-file", str(clock.control_file), "--stage-s", "30", "--tick-s", "0.05"],
            cwd=REPO, env={**os.environ, "LOG_FORMAT": "json", "POSTAL_CARRIER_WEBHOOK_SECRET": SECRET}, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield f"http://127.0.0.1:{port}", clock
        finally:
            process.terminate()
            process.wait(timeout=10)


async def test_the_simulator_runs_as_a_command_on_the_clock_file(
    command: tuple[str, ControllableClock], receiver: Receiver
) -> None:
    url, clock = command
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        deadline = time.monotonic() + 30
        while True:
            try:
                (await http.get("/_sim/orders")).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the simulator did not start"
                await asyncio.sleep(0.1)
        shipment = order(Direction.PICKUP)
        assert (await vnpost_at(http).create_order(shipment)).outcome is CarrierOutcome.ACCEPTED
        clock.advance(timedelta(seconds=60))
        reports = await receiver.wait_for(shipment.order_number, 2)
    assert [one.status.code for one in reports] == [2, 4]
    assert reports[0].status.at == T0 + timedelta(seconds=30)


def test_the_simulator_will_not_send_webhooks_it_cannot_sign(receiver: Receiver) -> None:
    env = {name: value for name, value in os.environ.items() if name != "POSTAL_CARRIER_WEBHOOK_SECRET"}
    started = subprocess.run(
        [sys.executable, "-m", "services.postal.simulators.carrier", "--port", str(free_low_port()),
         "--callback-url", receiver.url],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert started.returncode == 2
    assert "set POSTAL_CARRIER_WEBHOOK_SECRET" in started.stderr
