"""The VNPost-style carrier protocol: HTTP JSON, after the order, tracking and webhook interfaces of the Vietnamese
postal operators (shared/domain.md, "Postal carrier interfaces"). Every call carries `Authorization: Bearer <api
key>` when a key is configured.

Create an order: `POST {base}/api/v1/orders` with

    {"CustomerCode": "LIENTHONG", "OrderNumber": "H21.65-220914-0011-NH", "IdempotencyKey": "<shipment id>",
     "ServiceCode": "BCCI-NH", "CodAmount": 50000, "WeightGram": 400,
     "SenderFullname": "…", "SenderTel": "…", "SenderAddress": "<house, street>", "SenderWardCode": "26734",
     "SenderDistrictCode": null, "SenderProvinceCode": "79",
     "ReceiverFullname": "…", "ReceiverTel": "…", "ReceiverAddress": "…", "ReceiverWardCode": "…",
     "ReceiverDistrictCode": null, "ReceiverProvinceCode": "…"}

answers 201 `{"OrderNumber": "…", "ItemCode": "EB123456789VN", "Status": 1}` for a new order, and 200 with the
first answer for an `IdempotencyKey` it already has (no second order). An order number already taken under another
key is refused: 409 `{"Code": "DUPLICATE_ORDER_NUMBER", "Message": "…"}`.

Cancel: `POST {base}/api/v1/orders/{order number}/cancel` with `{"CustomerCode": "…"}` answers 200
`{"OrderNumber": "…", "Status": 22}`, also when already cancelled; 409 `NOT_CANCELLABLE` once picked up.

Track: `GET {base}/api/v1/orders/{order number}?CustomerCode=…` answers 200 `{"OrderNumber": "…", "ItemCode": "…",
"Statuses": [<status event>, …]}`, oldest first. An unknown order is 404 `ORDER_NOT_FOUND` to both.

Refusals are 4xx with `{"Code", "Message"}`; 5xx and 429 mean the carrier cannot answer now.

Status webhook: the carrier POSTs each status event to the callback URL registered for the customer:

    {"StatusEventId": "…", "OrderNumber": "…", "ItemCode": "…", "Status": 12,
     "EventTime": "2026-03-02T08:40:09+07:00", "Reason": null}

and sends it again until it gets a 2xx. Arrival order means nothing (order by `EventTime`), and one
`StatusEventId` may arrive more than once. The raw codes `Status` (0-22) are in `services/postal/domain.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from services.postal.carrier import (
    CarrierClient,
    CarrierMetrics,
    CarrierOrder,
    CarrierRejectedError,
    OrderPlaced,
    Party,
    StatusReport,
    Tracked,
)
from services.postal.domain import CarrierStatus
from services.postal.settings import PostalSettings
from shared.calendar.zone import aware

RawCode = Annotated[int, Field(ge=0, le=22)]


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_number: str = Field(alias="OrderNumber", min_length=1)


class _Placed(_Answer):
    item_code: str = Field(alias="ItemCode", min_length=1)
    status: RawCode = Field(alias="Status")


class _Status(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str = Field(alias="StatusEventId", min_length=1)
    status: RawCode = Field(alias="Status")
    event_time: AwareDatetime = Field(alias="EventTime")
    reason: str | None = Field(None, alias="Reason")

    def parsed(self) -> CarrierStatus:
        return CarrierStatus(self.event_id, self.status, aware(self.event_time), self.reason)


class _Tracking(_Answer):
    item_code: str = Field(alias="ItemCode", min_length=1)
    statuses: list[_Status] = Field(alias="Statuses")


class _Webhook(_Status):
    order_number: str = Field(alias="OrderNumber", min_length=1)
    item_code: str = Field(alias="ItemCode", min_length=1)


class _Refusal(BaseModel):
    code: str = Field(alias="Code", min_length=1)


def _party(role: str, party: Party) -> dict[str, Any]:
    address = party.address
    return {
        f"{role}Fullname": party.name,
        f"{role}Tel": party.phone,
        f"{role}Address": address.street,
        f"{role}WardCode": address.ward_code,
        f"{role}DistrictCode": address.district_code,
        f"{role}ProvinceCode": address.province_code,
    }


def order_request(order: CarrierOrder, customer_code: str) -> dict[str, Any]:
    """The body of a create-order call: exactly the order's fields, the only data the carrier gets."""
    return {
        "CustomerCode": customer_code,
        "OrderNumber": order.order_number,
        "IdempotencyKey": order.idempotency_key,
        "ServiceCode": order.service_code,
        "CodAmount": order.cod_vnd,
        "WeightGram": order.weight_g,
        **_party("Sender", order.sender),
        **_party("Receiver", order.receiver),
    }


def _checked(response: httpx.Response) -> httpx.Response:
    """The response of a call that succeeded; a refusal raises CarrierRejectedError, any other failure httpx's
    HTTPStatusError."""
    if response.is_client_error and response.status_code != 429:
        try:
            code = _Refusal.model_validate_json(response.content).code
        except ValidationError:
            code = f"http-{response.status_code}"
        raise CarrierRejectedError(code)
    return response.raise_for_status()


class VnpostClient(CarrierClient):
    name = "vnpost"

    async def try_create_order(self, order: CarrierOrder) -> OrderPlaced:
        response = _checked(await self.http.post("/api/v1/orders", json=order_request(order, self.customer_code)))
        placed = _Placed.model_validate_json(response.content)
        replayed = response.status_code != 201
        return OrderPlaced(placed.order_number, placed.item_code, placed.status, replayed)

    async def try_cancel_order(self, order_number: str) -> None:
        path = f"/api/v1/orders/{order_number}/cancel"
        response = _checked(await self.http.post(path, json={"CustomerCode": self.customer_code}))
        _Answer.model_validate_json(response.content)  # an answer of its protocol, or the outcome is uncertain

    async def try_track(self, order_number: str) -> Tracked:
        params = {"CustomerCode": self.customer_code}
        response = _checked(await self.http.get(f"/api/v1/orders/{order_number}", params=params))
        tracking = _Tracking.model_validate_json(response.content)
        statuses = tuple(status.parsed() for status in tracking.statuses)
        return Tracked(tracking.order_number, tracking.item_code, statuses)


def parse_status_webhook(body: bytes | str) -> StatusReport:
    """A status webhook the carrier POSTed; raises ValueError when it is not one."""
    webhook = _Webhook.model_validate_json(body)
    return StatusReport(webhook.order_number, webhook.item_code, webhook.parsed())


@asynccontextmanager
async def vnpost_client(settings: PostalSettings, metrics: CarrierMetrics) -> AsyncIterator[VnpostClient]:
    """The carrier client of the settings, with its HTTP client, closed on exit."""
    key = settings.carrier_api_key
    headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
    async with httpx.AsyncClient(
        base_url=settings.carrier_url, timeout=settings.carrier_timeout_s, headers=headers
    ) as http:
        yield VnpostClient(http, customer_code=settings.carrier_customer_code, metrics=metrics)
