"""The "brandname" SMS gateway protocol, after the Vietnamese brandname gateways: one HTTP JSON call whose
answer is always HTTP 200, the outcome a code in the body.

Send: `POST {base}/api/v1/sms/send` with

    {"ApiKey": "…", "Brandname": "LIENTHONG", "Phone": "84912345678", "Content": "…", "IsUnicode": 0,
     "RequestId": "<notification id>"}

answers `{"CodeResult": "100", "SMSID": "bn-…", "ErrorMessage": null}`. `RequestId` is the idempotency key: a
repeated one gets the first answer again and sends nothing. `CodeResult`: 100 accepted; 101 invalid number and
102 subscriber refuses brandname messages (permanent failures); 103 subscriber unreachable (temporary);
104 brandname not registered, 105 bad API key, 99 gateway error (technical). Any HTTP status but 200 is a
technical failure.

Delivery report: the gateway POSTs to the callback URL registered for the account

    {"SMSID": "bn-…", "RequestId": "<notification id>", "Status": "DELIVRD", "ErrorCode": null,
     "DoneTime": "2026-03-02 08:40:09"}

with the SMPP statuses: DELIVRD delivered; UNDELIV and REJECTD permanent failures; EXPIRED temporary failure.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

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

ACCEPTED = "100"
RECIPIENT_FAILURES: dict[str, RecipientFailure] = {
    "101": SendOutcome.PERMANENT_FAILURE,
    "102": SendOutcome.PERMANENT_FAILURE,
    "103": SendOutcome.TEMPORARY_FAILURE,
}
RECEIPT_STATUSES = {
    "DELIVRD": ReceiptStatus.DELIVERED,
    "UNDELIV": ReceiptStatus.PERMANENT_FAILURE,
    "REJECTD": ReceiptStatus.PERMANENT_FAILURE,
    "EXPIRED": ReceiptStatus.TEMPORARY_FAILURE,
}


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(alias="CodeResult")
    sms_id: str | None = Field(None, alias="SMSID")


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    sms_id: str = Field(alias="SMSID", min_length=1)
    request_id: UUID = Field(alias="RequestId")
    status: Literal["DELIVRD", "UNDELIV", "REJECTD", "EXPIRED"] = Field(alias="Status")
    error_code: str | None = Field(None, alias="ErrorCode")


class BrandnameSmsClient(SmsClient):
    name = "brandname"

    async def try_send_sms(self, request: SmsRequest) -> str:
        response = await self.http.post(
            "/api/v1/sms/send",
            json={
                "ApiKey": self.api_key,
                "Brandname": self.sender,
                "Phone": "84" + national_number(request.phone),
                "Content": request.text,
                "IsUnicode": 0 if request.text.isascii() else 1,
                "RequestId": request.idempotency_key,
            },
        )
        response.raise_for_status()
        answer = _Answer.model_validate_json(response.content)
        if answer.code == ACCEPTED and answer.sms_id:
            return answer.sms_id
        if answer.code in RECIPIENT_FAILURES:
            raise SmsRejectedError(RECIPIENT_FAILURES[answer.code], f"brandname-{answer.code}")
        raise SmsProviderError(f"brandname-{answer.code}")


def parse_receipt(body: bytes | str) -> DeliveryReceipt:
    """The delivery report a brandname gateway POSTed; raises ValueError when it is not one."""
    report = _Report.model_validate_json(body)
    return DeliveryReceipt(
        notification_id=report.request_id,
        provider_reference=report.sms_id,
        status=RECEIPT_STATUSES[report.status],
        failure_code=report.error_code or (None if report.status == "DELIVRD" else report.status),
    )
