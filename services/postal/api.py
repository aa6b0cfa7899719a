"""Postal's HTTP entrypoints: the carrier's status webhooks (signed by the carrier, shared/callback_signature.py), and
the shipments of an agency for its staff."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import ValidationError

from services.postal import store
from services.postal.carrier.vnpost import parse_status_webhook
from services.postal.fees import load_fee_table
from services.postal.handlers import PostalContext, apply_status
from services.postal.settings import PostalSettings
from shared.callback_signature import verified_body
from shared.identity.fastapi import CurrentStaff, ensure_agency
from shared.outbox.writer import Outbox
from shared.service import ServiceRuntime, on_event_loop

OUTBOX = Outbox("postal")


def postal_context(runtime: ServiceRuntime) -> PostalContext:
    settings = runtime.settings
    assert isinstance(settings, PostalSettings)
    assert runtime.rules is not None  # the rules worker is built first
    return PostalContext(OUTBOX, runtime.rules, runtime.clock, load_fee_table(settings.fees_file))


class Postal:
    def __init__(self, request: Request) -> None:
        runtime: ServiceRuntime = request.app.state.runtime
        if runtime.pool is None or runtime.rules is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "postal is starting")
        self.ctx = postal_context(runtime)
        self.pool = runtime.pool
        assert isinstance(runtime.settings, PostalSettings)
        self.settings = runtime.settings


Context = Annotated[Postal, Depends(on_event_loop(Postal))]
carrier_router = APIRouter(tags=["carrier"])


@carrier_router.post(
    "/carrier/webhooks",
    summary="A status event of the carrier (VNPost-style webhook), signed by the carrier",
    description="No staff token: the carrier signs the raw body with POSTAL_CARRIER_WEBHOOK_SECRET "
    "(headers X-Lienthong-Timestamp and X-Lienthong-Signature, see shared/callback_signature.py); 401 otherwise.",
)
async def webhook(request: Request, postal: Context) -> dict[str, str]:
    body = await verified_body(request, postal.settings.carrier_webhook_secret, "POSTAL_CARRIER_WEBHOOK_SECRET")
    try:
        report = parse_status_webhook(body)
    except (ValidationError, ValueError) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"not a status webhook: {error}") from error
    async with postal.pool.acquire() as conn, conn.transaction():
        row = await store.locked_shipment(conn, order_number=report.order_number)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no shipment has that order number")
        verdict = await apply_status(postal.ctx, conn, row, report.status)
    return {"verdict": verdict.value}


shipments_router = APIRouter(prefix="/shipments", tags=["agencies"])


@shipments_router.get("/{order_number}", summary="A shipment of your agency: state, carrier code, status events")
async def shipment(order_number: str, staff: CurrentStaff, postal: Context) -> dict[str, Any]:
    async with postal.pool.acquire() as conn:
        row = await store.locked_shipment(conn, order_number=order_number, lock=False)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no shipment has that order number")
        ensure_agency(staff, row.agency_code)
        tracking = await store.tracking_of(conn, row)
    return {
        "order_number": row.order_number, "dossier_code": row.dossier_code, "direction": row.direction.value,
        "state": row.state.value, "carrier_status_code": row.raw_code, "tracking_number": row.tracking_number,
        "fee_vnd": row.fee_vnd, "cod_vnd": row.cod_vnd,
        "status_events": [{"event_id": r.status.event_id, "code": r.status.code, "at": r.status.at,
                           "verdict": r.verdict.value} for r in tracking.history],
    }  # fmt: skip
