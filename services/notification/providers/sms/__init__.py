"""SMS through HTTP gateways: one module per provider behind `SmsClient`, after GOV.UK Notify's
`app/clients/sms`. The base `send_sms` owns timing, logging, metrics and the mapping of every error to one of
four outcomes; a provider implements only `try_send_sms` (one call in its own protocol) and a pure
`parse_receipt` for its delivery reports.

The notification id is the idempotency key of every call: sent again (a retry, a redelivered event), a gateway
answers as it did the first time and the phone receives one message.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

import httpx
import structlog
from pydantic import ValidationError

from services.notification.providers import ProviderMetrics, SendOutcome, SendResult

log = structlog.get_logger(__name__)

RecipientFailure = Literal[SendOutcome.PERMANENT_FAILURE, SendOutcome.TEMPORARY_FAILURE]


class SmsRejectedError(Exception):
    """The gateway refused the message for a reason about the recipient (unknown number, phone off)."""

    def __init__(self, outcome: RecipientFailure, code: str) -> None:
        super().__init__(code)
        self.outcome = outcome
        self.code = code


class SmsProviderError(Exception):
    """The gateway answered neither an acceptance nor a refusal about the recipient: credentials, quota,
    an unregistered brandname, its own error."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class SmsRequest:
    notification_id: UUID
    phone: str  # as in the contact record: 0912345678, 84912345678 or +84912345678
    text: str

    @property
    def idempotency_key(self) -> str:
        return str(self.notification_id)


class ReceiptStatus(StrEnum):
    """What a delivery report says became of an accepted message."""

    DELIVERED = "delivered"
    PERMANENT_FAILURE = "permanent-failure"
    TEMPORARY_FAILURE = "temporary-failure"


@dataclass(frozen=True)
class DeliveryReceipt:
    notification_id: UUID  # the idempotency key the message was sent with
    provider_reference: str
    status: ReceiptStatus
    failure_code: str | None = None


def national_number(phone: str) -> str:
    """The Vietnamese national number of a mobile phone, which each gateway writes its own way: `0912345678`,
    `84912345678` and `+84912345678` all give `912345678`. The gateways reach Vietnamese numbers only."""
    digits = phone.removeprefix("+")
    if digits.isdigit() and digits.startswith("84") and len(digits) == 11:
        return digits[2:]
    if digits.isdigit() and digits.startswith("0") and len(digits) == 10:
        return digits[1:]
    raise SmsRejectedError(SendOutcome.PERMANENT_FAILURE, "not-a-vietnamese-mobile-number")


# Errors raised before the request could reach the provider whole: it certainly did not get the message. A local
# protocol error is a request our side could not even write (an invalid header, say).
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.LocalProtocolError)


class SmsClient(ABC):
    name: ClassVar[str]

    def __init__(self, http: httpx.AsyncClient, *, api_key: str, sender: str, metrics: ProviderMetrics) -> None:
        """`http` carries the gateway's base URL and the timeout; the composition root owns and closes it."""
        self.http = http
        self.api_key = api_key
        self.sender = sender
        self.metrics = metrics

    async def send_sms(self, request: SmsRequest) -> SendResult:
        """Send one SMS; never raises for anything the gateway or the network does."""
        started = time.perf_counter()
        outcome, reference, code, uncertain = SendOutcome.TECHNICAL_FAILURE, None, None, False
        try:
            reference = await self.try_send_sms(request)
            outcome = SendOutcome.ACCEPTED
        except SmsRejectedError as rejection:
            outcome, code = rejection.outcome, rejection.code
        except SmsProviderError as error:
            code = error.code
        except httpx.HTTPStatusError as error:
            code = f"http-{error.response.status_code}"
        except httpx.TransportError as error:
            code, uncertain = type(error).__name__, not isinstance(error, _NOT_SENT)
        except ValidationError:
            # It answered, but not in its protocol: whether it took the message cannot be told.
            code, uncertain = "unreadable-answer", True
        result = SendResult(self.name, outcome, reference, code, uncertain, time.perf_counter() - started)
        self.metrics.observe("sms", result)
        fields = {"provider": self.name, "notification_id": request.idempotency_key, "elapsed_s": result.elapsed_s}
        if outcome is SendOutcome.ACCEPTED:
            log.info("sms.accepted", provider_reference=reference, **fields)
        else:
            log.warning("sms.failed", outcome=outcome.value, failure_code=code, uncertain=uncertain, **fields)
        return result

    @abstractmethod
    async def try_send_sms(self, request: SmsRequest) -> str:
        """Make the gateway's call; return its reference of the accepted message. Raise SmsRejectedError for a
        refusal about the recipient, SmsProviderError for any other refusal; let httpx's errors through."""
