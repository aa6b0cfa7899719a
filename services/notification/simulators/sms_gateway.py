"""A local SMS gateway for tests and the local stack. It speaks both protocols of
`services/notification/providers/sms/` (brandname under `/brandname`, OTT/SMS under `/ott`; their module
docstrings define them), honours their idempotency keys, records every message it accepts, and POSTs delivery
reports back.

    NOTIFICATION_SMS_BRANDNAME_RECEIPT_SECRET=... NOTIFICATION_SMS_OTT_RECEIPT_SECRET=... \\
    python -m services.notification.simulators.sms_gateway --host 127.0.0.1 --port 8026 \\
        --callback-url http://127.0.0.1:8003/receipts

Delivery reports go to `<callback-url>/brandname` or `<callback-url>/ott`, `--receipt-delay-s` after acceptance,
signed like a real gateway's (shared/callback_signature.py) with the secret notification checks for that protocol:
it reads the same variables as notification, and refuses to start with a callback URL but without both secrets.

Magic numbers, however written (0900000001, 84900000001, +84900000001):

    0900000001  refused, invalid number          permanent failure (brandname 101, ott 400 INVALID_RECIPIENT)
    0900000002  refused, subscriber unreachable  temporary failure (brandname 103, ott 422 ABSENT_SUBSCRIBER)
    0900000003  HTTP 500                         technical failure; not remembered, a retry is answered anew
    0900000004  answers after --slow-s           technical failure by the client's timeout, yet the message is
                                                 accepted meanwhile: a retry with the same key finds it
    0900000005  accepted, report undeliverable   permanent failure by receipt (UNDELIV / undeliverable)
    0900000006  accepted, report expired         temporary failure by receipt (EXPIRED / expired)
    any other   accepted, report delivered

For tests: `GET /_sim/messages` gives the accepted messages with `counts` (messages sent per idempotency key: never
above 1), `submissions` (calls per key) and `requests` (calls per protocol); `DELETE /_sim/messages` forgets
everything; `PUT /_sim/outage/{protocol}` makes a protocol answer 503 until `DELETE /_sim/outage/{protocol}`.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Header, HTTPException, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.notification.settings import NotificationSettings
from services.notification.simulators.sms_state import PROTOCOLS, Gateway, Verdict
from shared.logging import configure_logging
from shared.settings import LogSettings

BRANDNAME_CODES = {"accepted": "100", "permanent": "101", "temporary": "103"}
OTT_REFUSALS = {"permanent": (400, "INVALID_RECIPIENT"), "temporary": (422, "ABSENT_SUBSCRIBER")}


class BrandnameSend(BaseModel):
    phone: str = Field(alias="Phone")
    content: str = Field(alias="Content")
    brandname: str = Field(alias="Brandname")
    request_id: str = Field(alias="RequestId", min_length=1)


class OttSend(BaseModel):
    to: str
    channels: list[str]
    sender: str
    text: str
    reference: str


def brandname_answer(verdict: Verdict) -> Response:
    if verdict.kind in ("error", "outage"):
        return JSONResponse({"error": verdict.kind}, status_code=500 if verdict.kind == "error" else 503)
    code = BRANDNAME_CODES[verdict.kind]
    return JSONResponse({"CodeResult": code, "SMSID": verdict.reference, "ErrorMessage": None})


def ott_answer(verdict: Verdict) -> Response:
    headers = {"Idempotent-Replayed": "true"} if verdict.replayed else {}
    if verdict.kind == "accepted":
        return JSONResponse({"id": verdict.reference, "status": "queued"}, status_code=202, headers=headers)
    if verdict.kind in OTT_REFUSALS:
        status, code = OTT_REFUSALS[verdict.kind]
        return JSONResponse({"error": {"code": code, "message": code.lower()}}, status_code=status, headers=headers)
    status = 500 if verdict.kind == "error" else 503
    return JSONResponse({"error": {"code": verdict.kind.upper(), "message": verdict.kind}}, status_code=status)


def create_app(gateway: Gateway) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with gateway.running():
            yield

    app = FastAPI(title="lienthong SMS gateway simulator", lifespan=lifespan)

    @app.post("/brandname/api/v1/sms/send")
    async def brandname_send(body: BrandnameSend) -> Response:
        verdict = await gateway.submit("brandname", body.request_id, body.phone, body.brandname, body.content)
        return brandname_answer(verdict)

    @app.post("/ott/v2/messages")
    async def ott_send(body: OttSend, idempotency_key: str = Header(min_length=1)) -> Response:
        return ott_answer(await gateway.submit("ott", idempotency_key, body.to, body.sender, body.text))

    @app.get("/_sim/messages")
    async def messages() -> dict[str, Any]:
        return gateway.report()

    @app.delete("/_sim/messages", status_code=204)
    async def forget() -> None:
        gateway.forget()

    @app.put("/_sim/outage/{protocol}", status_code=204)
    async def start_outage(protocol: str) -> None:
        gateway.outages.add(_known(protocol))

    @app.delete("/_sim/outage/{protocol}", status_code=204)
    async def end_outage(protocol: str) -> None:
        gateway.outages.discard(_known(protocol))

    return app


def _known(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise HTTPException(404, f"unknown protocol {protocol!r}; known: {list(PROTOCOLS)}")
    return protocol


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--callback-url", help="Base URL delivery reports are POSTed under (none: no reports).")
    parser.add_argument("--receipt-delay-s", type=float, default=0.5)
    parser.add_argument("--slow-s", type=float, default=10.0, help="How long the slow magic number takes.")
    args = parser.parse_args()
    configure_logging(LogSettings(), service="sms-gateway-simulator")
    settings = NotificationSettings()
    secrets = {protocol: secret.get_secret_value() for protocol in ("brandname", "ott")
               if (secret := settings.receipt_secret(protocol)) is not None}  # fmt: skip
    if args.callback_url and set(secrets) != set(PROTOCOLS):
        parser.error("delivery reports are signed: set NOTIFICATION_SMS_BRANDNAME_RECEIPT_SECRET and "
                     "NOTIFICATION_SMS_OTT_RECEIPT_SECRET, the secrets notification checks them with")  # fmt: skip
    gateway = Gateway(callback_url=args.callback_url, receipt_secrets=secrets, receipt_delay_s=args.receipt_delay_s,
                      slow_s=args.slow_s)  # fmt: skip
    uvicorn.run(create_app(gateway), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
