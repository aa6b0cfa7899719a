"""The carrier that picks dossiers up and delivers results, behind `CarrierClient`, after GOV.UK Notify's
`app/clients/sms`: the base class owns timing, logging, metrics and the mapping of every error to one of four
outcomes; a carrier's module implements only the calls of its protocol (`try_*`) and a pure parser of its status
webhooks.

The shipment id is the idempotency key of the order: placed again (a retry after a timeout, a redelivered event),
the carrier answers with the order it made the first time and collects the package once.

What the carrier learns of the applicant is only what it needs to find the party it visits: a `Party` has a name,
a phone and an address, and nothing else can be put in an order (never a personal ID number).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Generic, TypeVar
from uuid import UUID

import httpx
import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import ValidationError

from services.postal.domain import CarrierStatus
from shared.events.catalogue.postal import Direction, carrier_order_number

log = structlog.get_logger(__name__)
T = TypeVar("T")


class CarrierOutcome(StrEnum):
    ACCEPTED = "accepted"  # done (or found done: the same idempotency key, an order already cancelled)
    REJECTED = "rejected"  # refused for a reason about the order: asking again the same way will not help
    UNAVAILABLE = "unavailable"  # not done, and the carrier can be asked again later: down, overloaded
    UNCERTAIN = "uncertain"  # it may have been done: ask again with the same idempotency key to learn which


@dataclass(frozen=True)
class CarrierAddress:
    street: str  # house number, street, hamlet
    ward_code: str
    district_code: str | None  # none where the district level no longer exists
    province_code: str


@dataclass(frozen=True)
class Party:
    """Someone the carrier collects from or delivers to: the applicant, or the agency's desk. Not in a repr, so
    that no log line can carry it by accident."""

    name: str = field(repr=False)
    phone: str = field(repr=False)
    address: CarrierAddress = field(repr=False)


@dataclass(frozen=True)
class CarrierOrder:
    shipment_id: UUID  # the idempotency key
    dossier_code: str
    direction: Direction
    service_code: str
    sender: Party  # pickup: the applicant; return: the agency
    receiver: Party  # pickup: the agency; return: the applicant
    cod_vnd: int  # what the postal worker collects (the procedure's fees at a pickup), 0 if nothing
    weight_g: int

    @property
    def order_number(self) -> str:
        return carrier_order_number(self.dossier_code, self.direction)

    @property
    def idempotency_key(self) -> str:
        return str(self.shipment_id)


@dataclass(frozen=True)
class OrderPlaced:
    order_number: str
    tracking_number: str  # the carrier's item code, which the applicant can track
    status_code: int
    replayed: bool  # the carrier already had this order (same idempotency key) and answered it again


@dataclass(frozen=True)
class Tracked:
    order_number: str
    tracking_number: str
    statuses: tuple[CarrierStatus, ...]  # every status event so far, oldest first


@dataclass(frozen=True)
class StatusReport:
    """A status webhook, parsed: which order, and the status event."""

    order_number: str
    tracking_number: str
    status: CarrierStatus


@dataclass(frozen=True)
class CarrierResult(Generic[T]):
    carrier: str
    operation: str
    outcome: CarrierOutcome
    value: T | None = None  # with `accepted`
    failure_code: str | None = None  # why not, never with personal data
    elapsed_s: float = 0.0


class CarrierRejectedError(Exception):
    """The carrier refused, for a reason about the order (unknown, no longer cancellable, invalid address)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class CarrierMetrics:
    registry: CollectorRegistry

    def __post_init__(self) -> None:
        self.calls = Counter(
            "lienthong_carrier_calls",
            "Calls to a carrier, by carrier, operation and outcome",
            ["carrier", "operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "lienthong_carrier_call_seconds",
            "Time a carrier took to answer",
            ["carrier", "operation"],
            registry=self.registry,
        )

    def observe(self, result: CarrierResult[T]) -> None:
        self.calls.labels(result.carrier, result.operation, result.outcome.value).inc()
        self.latency.labels(result.carrier, result.operation).observe(result.elapsed_s)


# Errors raised before the request could reach the carrier whole: it certainly did nothing.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.LocalProtocolError)


def _unavailable(status: int) -> bool:
    return status >= 500 or status == 429  # its own trouble, or it asks us to come back later


class CarrierClient(ABC):
    name: ClassVar[str]

    def __init__(self, http: httpx.AsyncClient, *, customer_code: str, metrics: CarrierMetrics) -> None:
        """`http` carries the carrier's base URL, its credentials and the timeout; the composition root owns and
        closes it."""
        self.http = http
        self.customer_code = customer_code
        self.metrics = metrics

    async def create_order(self, order: CarrierOrder) -> CarrierResult[OrderPlaced]:
        return await self._call("create-order", order.order_number, self.try_create_order(order))

    async def cancel_order(self, order_number: str) -> CarrierResult[None]:
        return await self._call("cancel-order", order_number, self.try_cancel_order(order_number))

    async def track(self, order_number: str) -> CarrierResult[Tracked]:
        return await self._call("track", order_number, self.try_track(order_number))

    async def _call(self, operation: str, order_number: str, call: Awaitable[T]) -> CarrierResult[T]:
        """Make one call; never raises for anything the carrier or the network does."""
        started = time.perf_counter()
        outcome, code = CarrierOutcome.UNAVAILABLE, None
        value: T | None = None
        try:
            value = await call
            outcome = CarrierOutcome.ACCEPTED
        except CarrierRejectedError as rejection:
            outcome, code = CarrierOutcome.REJECTED, rejection.code
        except httpx.HTTPStatusError as error:
            status = error.response.status_code
            outcome = CarrierOutcome.UNAVAILABLE if _unavailable(status) else CarrierOutcome.REJECTED
            code = f"http-{status}"
        except httpx.TransportError as error:
            code = type(error).__name__
            outcome = CarrierOutcome.UNAVAILABLE if isinstance(error, _NOT_SENT) else CarrierOutcome.UNCERTAIN
        except ValidationError:
            # It answered, but not in its protocol: whether it did what was asked cannot be told.
            outcome, code = CarrierOutcome.UNCERTAIN, "unreadable-answer"
        result = CarrierResult(self.name, operation, outcome, value, code, time.perf_counter() - started)
        self.metrics.observe(result)
        called = log.bind(carrier=self.name, operation=operation, order_number=order_number, elapsed_s=result.elapsed_s)
        if outcome is CarrierOutcome.ACCEPTED:
            called.info("carrier.accepted")
        else:
            called.warning("carrier.failed", outcome=outcome.value, failure_code=code)
        return result

    @abstractmethod
    async def try_create_order(self, order: CarrierOrder) -> OrderPlaced:
        """Place the order under its idempotency key. Raise CarrierRejectedError for a refusal about the order;
        let httpx's errors through (an HTTPStatusError for any other failure answer)."""

    @abstractmethod
    async def try_cancel_order(self, order_number: str) -> None:
        """Cancel the order (already cancelled is done); raise and let through as `try_create_order`."""

    @abstractmethod
    async def try_track(self, order_number: str) -> Tracked:
        """Every status event of the order so far; raise and let through as `try_create_order`."""
