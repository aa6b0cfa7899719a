"""The carrier client without a network: what the VNPost-style protocol sends (exactly the order's fields), how
every answer or failure maps to an outcome, and the status webhook parser."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import httpx
import pytest
from prometheus_client import CollectorRegistry

from services.postal.carrier import CarrierAddress, CarrierMetrics, CarrierOrder, CarrierOutcome, OrderPlaced, Party
from services.postal.carrier.vnpost import VnpostClient, order_request, parse_status_webhook
from shared.events.catalogue.postal import Direction

SHIPMENT_ID = UUID("6d1f5a52-8f3e-4c1b-9a57-0c2a7d3e9b11")
APPLICANT = Party("Nguyễn Thị Lan", "0912345678", CarrierAddress("12 Lê Lợi", "26734", None, "79"))
DESK = Party("Trung tâm Phục vụ hành chính công phường Sài Gòn", "02838223456",
             CarrierAddress("45 Lê Duẩn", "26740", None, "79"))  # fmt: skip
ORDER = CarrierOrder(SHIPMENT_ID, "H29.1-260302-0011", Direction.PICKUP, "BCCI-NH", APPLICANT, DESK, 8000, 400)
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, registry: CollectorRegistry | None = None) -> VnpostClient:
    http = httpx.AsyncClient(base_url="http://carrier.test", transport=httpx.MockTransport(handler))
    return VnpostClient(http, customer_code="LIENTHONG", metrics=CarrierMetrics(registry or CollectorRegistry()))


def test_an_order_carries_the_order_number_the_key_and_the_two_parties_and_nothing_else() -> None:
    body = order_request(ORDER, "LIENTHONG")
    assert body == {
        "CustomerCode": "LIENTHONG", "OrderNumber": "H29.1-260302-0011-NH", "IdempotencyKey": str(SHIPMENT_ID),
        "ServiceCode": "BCCI-NH", "CodAmount": 8000, "WeightGram": 400,
        "SenderFullname": "Nguyễn Thị Lan", "SenderTel": "0912345678", "SenderAddress": "12 Lê Lợi",
        "SenderWardCode": "26734", "SenderDistrictCode": None, "SenderProvinceCode": "79",
        "ReceiverFullname": DESK.name, "ReceiverTel": "02838223456", "ReceiverAddress": "45 Lê Duẩn",
        "ReceiverWardCode": "26740", "ReceiverDistrictCode": None, "ReceiverProvinceCode": "79",
    }  # fmt: skip
    for personal in ("Nguyễn", "0912345678", "Lê Lợi"):  # nothing personal in a log line by accident
        assert personal not in repr(ORDER)


async def test_a_placed_order_and_a_replayed_one() -> None:
    seen: list[httpx.Request] = []

    def carrier(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = {"OrderNumber": "H29.1-260302-0011-NH", "ItemCode": "EB100000001VN", "Status": 1}
        return httpx.Response(201 if len(seen) == 1 else 200, json=answer)

    registry = CollectorRegistry()
    vnpost = client(carrier, registry)
    first, again = await vnpost.create_order(ORDER), await vnpost.create_order(ORDER)
    assert first.outcome is again.outcome is CarrierOutcome.ACCEPTED
    assert first.value == OrderPlaced("H29.1-260302-0011-NH", "EB100000001VN", 1, replayed=False)
    assert again.value == OrderPlaced("H29.1-260302-0011-NH", "EB100000001VN", 1, replayed=True)
    assert str(seen[0].url) == "http://carrier.test/api/v1/orders"
    assert json.loads(seen[0].content) == order_request(ORDER, "LIENTHONG")
    labels = {"carrier": "vnpost", "operation": "create-order", "outcome": "accepted"}
    assert registry.get_sample_value("lienthong_carrier_calls_total", labels) == 2


def answering(status: int, body: object) -> Handler:
    return lambda _: httpx.Response(status, json=body)


def failing(error: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    return handler


@pytest.mark.parametrize(
    ("handler", "outcome", "code"),
    [(answering(409, {"Code": "NOT_CANCELLABLE", "Message": "picked up"}), CarrierOutcome.REJECTED, "NOT_CANCELLABLE"),
     (answering(422, {"detail": "bad"}), CarrierOutcome.REJECTED, "http-422"),
     (answering(503, {"Code": "SERVICE_UNAVAILABLE"}), CarrierOutcome.UNAVAILABLE, "http-503"),
     (answering(429, {"Code": "SLOW_DOWN"}), CarrierOutcome.UNAVAILABLE, "http-429"),
     (failing(httpx.ConnectError), CarrierOutcome.UNAVAILABLE, "ConnectError"),
     (failing(httpx.ReadTimeout), CarrierOutcome.UNCERTAIN, "ReadTimeout"),
     (answering(200, {"Order": "?"}), CarrierOutcome.UNCERTAIN, "unreadable-answer")],
)  # fmt: skip
async def test_every_failure_maps_to_one_outcome(handler: Handler, outcome: CarrierOutcome, code: str) -> None:
    registry = CollectorRegistry()
    result = await client(handler, registry).cancel_order("H29.1-260302-0011-NH")
    assert (result.carrier, result.operation, result.outcome, result.failure_code) == (
        "vnpost",
        "cancel-order",
        outcome,
        code,
    )
    labels = {"carrier": "vnpost", "operation": "cancel-order", "outcome": outcome.value}
    assert registry.get_sample_value("lienthong_carrier_calls_total", labels) == 1


def test_a_status_webhook_parses_with_its_event_time_in_utc() -> None:
    report = parse_status_webhook(json.dumps({
        "StatusEventId": "ev-1", "OrderNumber": "H29.1-260302-0011-TR", "ItemCode": "EB100000001VN", "Status": 15,
        "EventTime": "2026-03-02T08:40:09+07:00", "Reason": "no one at the address",
    }))  # fmt: skip
    assert (report.order_number, report.tracking_number) == ("H29.1-260302-0011-TR", "EB100000001VN")
    assert (report.status.event_id, report.status.code, report.status.reason) == ("ev-1", 15, "no one at the address")
    assert report.status.at == datetime(2026, 3, 2, 1, 40, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    "change",
    [{"EventTime": "2026-03-02T08:40:09"}, {"Status": 23}, {"StatusEventId": ""}, {"OrderNumber": None}],
)
def test_a_body_that_is_not_a_status_webhook_is_refused(change: dict[str, object]) -> None:
    body = {"StatusEventId": "ev-1", "OrderNumber": "H29.1-260302-0011-TR", "ItemCode": "EB1VN", "Status": 14,
            "EventTime": "2026-03-02T08:40:09+07:00"} | change  # fmt: skip
    with pytest.raises(ValueError, match="validation error"):
        parse_status_webhook(json.dumps(body))
