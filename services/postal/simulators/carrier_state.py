"""What the carrier simulator remembers and does over time: its orders (one per idempotency key), every API request
it received, and the status events each order goes through, each due at an instant of the shared clock and POSTed
as a webhook once the clock has passed it. carrier.py turns it into the protocol of
services/postal/carrier/vnpost.py and documents the scripting."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import uuid4

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field

from shared.calendar.zone import local
from shared.callback_signature import post_signed
from shared.clock import Clock
from shared.events.catalogue.postal import ORDER_SUFFIX, Direction

log = structlog.get_logger(__name__)

CREATED, PICKED_UP, CANCELLED = 1, 6, 22
FAILURE_REASON = "no one at the address (không có người nhận)"
Plan = Literal["delivered", "failed"]
PLANS: dict[Plan, dict[Direction, tuple[int, ...]]] = {
    "delivered": {Direction.PICKUP: (2, 4, 6, 10, 12, 14), Direction.RETURN: (2, 6, 10, 12, 14)},
    # A pickup fails at the door twice and the carrier gives up; a delivery fails twice and goes back.
    "failed": {Direction.PICKUP: (2, 4, 5, 4, 5, 22), Direction.RETURN: (2, 6, 10, 12, 15, 12, 15, 16, 17, 18)},
}
MAX_BACKOFF_S = 5.0


class Stage(BaseModel):
    """One status event to come, `stage_s` after the one before it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: int = Field(ge=0, le=22, description="The raw status code.")
    reason: str | None = Field(None, description="The reason the webhook gives.")
    repeat: int = Field(1, ge=1, le=10, description="How many times its webhook is sent (same StatusEventId).")
    late_by: int = Field(0, ge=0, le=10, description="Its webhook goes this many stages after it happened.")


def planned(plan: Plan, direction: Direction) -> list[Stage]:
    return [Stage(code=code, reason=FAILURE_REASON if code in (5, 15) else None) for code in PLANS[plan][direction]]


class RefusedError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class StatusEvent:
    code: int
    at: datetime  # when it happens
    send_at: datetime  # when its webhook goes (later than `at` for a late one)
    sends_left: int
    reason: str | None = None
    event_id: str = field(default_factory=lambda: uuid4().hex)

    def body(self) -> dict[str, Any]:
        return {"StatusEventId": self.event_id, "Status": self.code, "EventTime": local(self.at).isoformat(),
                "Reason": self.reason}  # fmt: skip


@dataclass
class Order:
    number: str
    key: str
    item_code: str
    direction: Direction
    creates: int = 1  # create calls with its idempotency key
    events: list[StatusEvent] = field(default_factory=list)

    def happened(self, now: datetime) -> list[StatusEvent]:
        return sorted((event for event in self.events if event.at <= now), key=lambda event: event.at)

    def follow(self, stages: Iterable[Stage], start: datetime, stage_s: float) -> None:
        """Replace what has not happened yet with `stages`, the first `stage_s` after `start`."""
        self.events = [event for event in self.events if event.at <= start]
        for number, stage in enumerate(stages, start=1):
            at = start + timedelta(seconds=number * stage_s)
            send_at = at + timedelta(seconds=stage.late_by * stage_s)
            self.events.append(StatusEvent(stage.code, at, send_at, stage.repeat, stage.reason))

    def placed(self) -> dict[str, Any]:
        return {"OrderNumber": self.number, "ItemCode": self.item_code, "Status": CREATED}

    def tracked(self, now: datetime) -> dict[str, Any]:
        return {"OrderNumber": self.number, "ItemCode": self.item_code,
                "Statuses": [event.body() for event in self.happened(now)]}  # fmt: skip

    def webhook(self, event: StatusEvent) -> dict[str, Any]:
        return {"OrderNumber": self.number, "ItemCode": self.item_code, **event.body()}


def direction_of(order_number: str) -> Direction:
    for direction, suffix in ORDER_SUFFIX.items():
        if order_number.endswith(suffix):
            return direction
    suffixes = " or ".join(ORDER_SUFFIX.values())
    raise RefusedError(400, "INVALID_ORDER_NUMBER", f"an order number ends with {suffixes}")


@dataclass
class Carrier:
    clock: Clock
    callback_url: str | None
    callback_secret: str | None = None  # signs every webhook, as postal requires (shared/callback_signature.py)
    stage_s: float = 60.0
    tick_s: float = 0.1
    outage: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)  # by order number
    _numbers: dict[str, str] = field(default_factory=dict)  # idempotency key -> order number
    _item_codes: Iterator[int] = field(default_factory=lambda: itertools.count(100_000_001))
    _http: httpx.AsyncClient | None = None

    def __post_init__(self) -> None:
        if self.callback_url is not None and not self.callback_secret:
            raise ValueError("webhooks are signed: give the secret shared with postal (POSTAL_CARRIER_WEBHOOK_SECRET)")

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Sends the webhooks as they fall due; those still owed on exit are dropped."""
        async with httpx.AsyncClient(timeout=5) as http:
            self._http = http
            sender = asyncio.create_task(self._send_webhooks())
            try:
                yield
            finally:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
                self._http = None

    def create(self, order_number: str, key: str) -> tuple[Order, bool]:
        """The order of the idempotency key, and whether it is new. Synchronous, hence atomic: two concurrent
        calls with one key cannot both make an order."""
        if key in self._numbers:
            order = self.orders[self._numbers[key]]
            order.creates += 1
            return order, False
        if order_number in self.orders:
            raise RefusedError(409, "DUPLICATE_ORDER_NUMBER", "the order number belongs to another order")
        direction = direction_of(order_number)
        order = Order(order_number, key, f"EB{next(self._item_codes)}VN", direction)
        order.follow(planned("delivered", direction), self.clock.now(), self.stage_s)
        self.orders[order_number], self._numbers[key] = order, order_number
        return order, True

    def find(self, order_number: str) -> Order:
        if order_number not in self.orders:
            raise RefusedError(404, "ORDER_NOT_FOUND", "no such order")
        return self.orders[order_number]

    def cancel(self, order_number: str) -> Order:
        """Cancelled now, unless the package was already picked up; cancelling twice is cancelling once."""
        order, now = self.find(order_number), self.clock.now()
        codes = {event.code for event in order.happened(now)}
        if CANCELLED in codes:
            return order
        if any(code >= PICKED_UP for code in codes):
            raise RefusedError(409, "NOT_CANCELLABLE", "the package was picked up already")
        order.follow([], now, self.stage_s)
        order.events.append(StatusEvent(CANCELLED, now, now, 1))
        return order

    def script(self, order: Order, stages: list[Stage]) -> None:
        order.follow(stages, self.clock.now(), self.stage_s)

    def report(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        return [
            {"order_number": order.number, "idempotency_key": order.key, "item_code": order.item_code,
             "direction": order.direction.value, "creates": order.creates,
             "statuses": [event.body() for event in order.happened(now)],
             "webhooks_owed": sum(event.sends_left for event in order.events)}
            for order in self.orders.values()
        ]  # fmt: skip

    async def _send_webhooks(self) -> None:
        failures = 0
        while True:
            try:
                await self._send_due()
                failures = 0
            except httpx.HTTPError as error:
                failures += 1  # the receiver is down or refused: try again, less and less often
                log.info("carrier_simulator.webhook-retry", failures=failures, error=str(error))
            await asyncio.sleep(min(self.tick_s * 2 ** min(failures, 8), MAX_BACKOFF_S))

    async def _send_due(self) -> None:
        """Every webhook due by the clock, in the order they fell due; one refused stops the round, so that the
        ones after it are not sent before it."""
        if self.callback_url is None or self.callback_secret is None or self._http is None:
            return
        now = self.clock.now()
        due = [(order, event) for order in self.orders.values() for event in order.events
               if event.sends_left and event.send_at <= now]  # fmt: skip
        for order, event in sorted(due, key=lambda pair: (pair[1].send_at, pair[1].at)):
            while event.sends_left:
                # Signed at each attempt: a retry after an outage carries a fresh timestamp.
                answer = await post_signed(self._http, self.callback_url, order.webhook(event), self.callback_secret)
                answer.raise_for_status()
                event.sends_left -= 1
