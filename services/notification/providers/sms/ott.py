"""The "OTT/SMS" gateway protocol, after the Vietnamese gateways that deliver through a chat app or by SMS: REST
with meaningful HTTP statuses, and the idempotency key in a header.

Send: `POST {base}/v2/messages` with the headers `Authorization: Bearer <api key>` and
`Idempotency-Key: <notification id>`, and

    {"to": "+84912345678", "channels": ["sms"], "sender": "LIENTHONG", "text": "…",
     "reference": "<notification id>"}

answers 202 `{"id": "ott-…", "status": "queued"}`. A repeated `Idempotency-Key` gets the first answer again (with
the header `Idempotent-Replayed: true`) and sends nothing. A refusal is a 4xx with
`{"error": {"code": "…", "message": "…"}}`: INVALID_RECIPIENT and RECIPIENT_OPTED_OUT are permanent failures,
ABSENT_SUBSCRIBER is temporary, any other code (UNAUTHORIZED, RATE_LIMITED…) is technical, as is any 5xx.

Delivery report: the gateway POSTs to the webhook registered for the account

    {"type": "message.status", "data": {"id": "ott-…", "reference": "<notification id>",
     "status": "delivered", "error_code": null, "occurred_at": "2026-03-02T01:40:09Z"}}

where status is delivered, undeliverable (permanent failure) or expired (temporary failure).
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.notification.providers import SendOutcome
from services.notification.providers.sms import (
    DeliveryReceipt,
    ReceiptStatus,
    RecipientFailure,
    SmsClient,
    SmsProviderError,
    SmsRejectedError,
    SmsRequest,
    national_number,
)

RECIPIENT_FAILURES: dict[str, RecipientFailure] = {
    "INVALID_RECIPIENT": SendOutcome.PERMANENT_FAILURE,
    "RECIPIENT_OPTED_OUT": SendOutcome.PERMANENT_FAILURE,
    "ABSENT_SUBSCRIBER": SendOutcome.TEMPORARY_FAILURE,
}
RECEIPT_STATUSES = {
    "delivered": ReceiptStatus.DELIVERED,
    "undeliverable": ReceiptStatus.PERMANENT_FAILURE,
    "expired": ReceiptStatus.TEMPORARY_FAILURE,
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class _Accepted(_Frozen):
    id: str = Field(min_length=1)


class _Error(_Frozen):
    code: str


class _Refusal(_Frozen):
    error: _Error


class _Status(_Frozen):
    id: str = Field(min_length=1)
    reference: UUID
    status: Literal["delivered", "undeliverable", "expired"]
    error_code: str | None = None
    occurred_at: AwareDatetime


class _Report(_Frozen):
    type: Literal["message.status"]
    data: _Status


class OttSmsClient(SmsClient):
    name = "ott"

    async def try_send_sms(self, request: SmsRequest) -> str:
        response = await self.http.post(
            "/v2/messages",
            # No key configured (the local simulator): no Authorization header, rather than an invalid `Bearer `.
            headers={"Idempotency-Key": request.idempotency_key}
            | ({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}),
            json={
                "to": "+84" + national_number(request.phone),
                "channels": ["sms"],
                "sender": self.sender,
                "text": request.text,
                "reference": request.idempotency_key,
            },
        )
        if response.status_code in (200, 202):
            return _Accepted.model_validate_json(response.content).id
        if response.is_client_error:
            code = _Refusal.model_validate_json(response.content).error.code
            if code in RECIPIENT_FAILURES:
                raise SmsRejectedError(RECIPIENT_FAILURES[code], f"ott-{code}")
            raise SmsProviderError(f"ott-{code}")
        response.raise_for_status()
        raise SmsProviderError(f"ott-http-{response.status_code}")  # a 1xx or 3xx: not in the protocol


def parse_receipt(body: bytes | str) -> DeliveryReceipt:
    """The delivery report an OTT/SMS gateway POSTed; raises ValueError when it is not one."""
    report = _Report.model_validate_json(body).data
    return DeliveryReceipt(
        notification_id=report.reference,
        provider_reference=report.id,
        status=RECEIPT_STATUSES[report.status],
        failure_code=report.error_code or (None if report.status == "delivered" else report.status),
    )
