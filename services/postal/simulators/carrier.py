"""A local carrier for tests and the local stack, speaking the VNPost-style protocol of
`services/postal/carrier/vnpost.py` (its docstring defines it). Like a real carrier it makes one order per
idempotency key, and it moves each order through its status codes over time, by the shared clock
(`shared/clock.py`): the n-th stage happens `--stage-s` seconds after the (n-1)-th, and its webhook is POSTed to
`--callback-url` once the clock has passed it (again and again, backing off, until the receiver answers 2xx).

    POSTAL_CARRIER_WEBHOOK_SECRET=... python -m services.postal.simulators.carrier --host 127.0.0.1 --port 8028 \\
        --callback-url http://127.0.0.1:8004/carrier/webhooks [--clock-file F] [--stage-s 60]

Like a real carrier it signs each webhook (shared/callback_signature.py), with the secret postal checks: it reads
the same variable as postal, POSTAL_CARRIER_WEBHOOK_SECRET, and refuses to start with a callback URL but no secret.

Without `--clock-file` it reads `CLOCK_CONTROL_FILE` like every process of the stack, and without that the system
clock. Unlike a real carrier it refuses unknown fields in an order (422), so that the adapter cannot add any.

A new order follows the plan `delivered`: a pickup (`-NH`) 2, 4, 6, 10, 12, 14; a return (`-TR`) 2, 6, 10, 12, 14.
Cancelling is refused (409 NOT_CANCELLABLE) once a code from 6 on has happened.

For tests:
- `GET /_sim/requests`: every API request received (method, path, JSON body), in order, outages included.
- `GET /_sim/orders`: each order with its idempotency key, `creates` (create calls with that key), the statuses
  that happened so far and `webhooks_owed`.
- `POST /_sim/orders/{order number}/script` replaces what has not happened yet, starting from now, with a plan,
  `{"plan": "failed"}` (a pickup: 2, 4, 5, 4, 5, 22; a return: 2, 6, 10, 12, 15, 12, 15, 16, 17, 18) or
  `{"plan": "delivered"}`, or with stages of your own:
  `{"stages": [{"code": 10, "late_by": 2}, {"code": 12}, {"code": 14, "repeat": 2}, {"code": 15, "reason": "…"}]}`
  — `repeat` sends a webhook that many times with the same StatusEventId; `late_by` sends it that many stages
  after it happened (with its true EventTime), so that later ones arrive before it.
- `PUT /_sim/outage` makes every API call answer 503 until `DELETE /_sim/outage`; webhooks keep going.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self

import uvicorn
from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_pascal

from services.postal.settings import PostalSettings
from services.postal.simulators.carrier_state import CANCELLED, Carrier, Plan, RefusedError, Stage, planned
from shared.clock import ClockSettings, clock_from
from shared.events.catalogue.postal import Direction
from shared.logging import configure_logging
from shared.settings import LogSettings


class ProtocolBody(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, extra="forbid")

    customer_code: str = Field(min_length=1)


class CreateOrder(ProtocolBody):
    order_number: str = Field(min_length=1)
    idempotency_key: str = Field(min_length=1)
    service_code: str = Field(min_length=1)
    cod_amount: int = Field(ge=0)
    weight_gram: int = Field(gt=0)
    sender_fullname: str = Field(min_length=1)
    sender_tel: str = Field(min_length=1)
    sender_address: str = Field(min_length=1)
    sender_ward_code: str = Field(min_length=1)
    sender_district_code: str | None
    sender_province_code: str = Field(min_length=1)
    receiver_fullname: str = Field(min_length=1)
    receiver_tel: str = Field(min_length=1)
    receiver_address: str = Field(min_length=1)
    receiver_ward_code: str = Field(min_length=1)
    receiver_district_code: str | None
    receiver_province_code: str = Field(min_length=1)


class Script(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: Plan = "delivered"
    stages: list[Stage] | None = Field(None, description="Replace the plan.")

    @model_validator(mode="after")
    def _plan_or_stages(self) -> Self:
        if "plan" in self.model_fields_set and self.stages is not None:
            raise ValueError("give a plan or stages, not both")
        return self

    def stages_for(self, direction: Direction) -> list[Stage]:
        return self.stages if self.stages is not None else planned(self.plan, direction)


def create_app(carrier: Carrier) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with carrier.running():
            yield

    app = FastAPI(title="lienthong carrier simulator", lifespan=lifespan)

    @app.middleware("http")
    async def record_and_outage(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not request.url.path.startswith("/api/"):
            return await call_next(request)
        body = _json(await request.body())
        carrier.requests.append({"method": request.method, "path": request.url.path, "body": body})
        if carrier.outage:
            return JSONResponse({"Code": "SERVICE_UNAVAILABLE", "Message": "down for the test"}, status_code=503)
        return await call_next(request)

    @app.exception_handler(RefusedError)
    async def refused(_: Request, refusal: RefusedError) -> Response:
        return JSONResponse({"Code": refusal.code, "Message": refusal.message}, status_code=refusal.status)

    @app.post("/api/v1/orders")
    async def create_order(body: CreateOrder) -> Response:
        order, new = carrier.create(body.order_number, body.idempotency_key)
        return JSONResponse(order.placed(), status_code=201 if new else 200)

    @app.post("/api/v1/orders/{order_number}/cancel")
    async def cancel_order(order_number: str, body: ProtocolBody) -> dict[str, Any]:
        return {"OrderNumber": carrier.cancel(order_number).number, "Status": CANCELLED}

    @app.get("/api/v1/orders/{order_number}")
    async def track(order_number: str, customer_code: str = Query(alias="CustomerCode", min_length=1)) -> Any:
        return carrier.find(order_number).tracked(carrier.clock.now())

    @app.get("/_sim/requests")
    async def requests() -> list[dict[str, Any]]:
        return carrier.requests

    @app.get("/_sim/orders")
    async def orders() -> list[dict[str, Any]]:
        return carrier.report()

    @app.post("/_sim/orders/{order_number}/script", status_code=204)
    async def script(order_number: str, body: Script) -> None:
        order = carrier.find(order_number)
        carrier.script(order, body.stages_for(order.direction))

    @app.put("/_sim/outage", status_code=204)
    async def start_outage() -> None:
        carrier.outage = True

    @app.delete("/_sim/outage", status_code=204)
    async def end_outage() -> None:
        carrier.outage = False

    return app


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8028)
    parser.add_argument("--callback-url", help="Where status webhooks are POSTed (none: no webhooks).")
    parser.add_argument("--clock-file", type=Path, help="The shared clock's control file (else CLOCK_CONTROL_FILE).")
    parser.add_argument("--stage-s", type=float, default=60.0, help="Clock seconds between two status events.")
    parser.add_argument("--tick-s", type=float, default=0.2, help="How often it looks for webhooks due.")
    args = parser.parse_args()
    configure_logging(LogSettings(), service="carrier-simulator")
    clock_settings = ClockSettings()
    if args.clock_file is not None:
        clock_settings = clock_settings.model_copy(update={"control_file": args.clock_file})
    secret = PostalSettings().carrier_webhook_secret
    if args.callback_url and secret is None:
        parser.error("webhooks are signed: set POSTAL_CARRIER_WEBHOOK_SECRET, the secret postal checks them with")
    carrier = Carrier(clock_from(clock_settings), args.callback_url, secret.get_secret_value() if secret else None,
                      stage_s=args.stage_s, tick_s=args.tick_s)  # fmt: skip
    uvicorn.run(create_app(carrier), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
