"""The reception staff API (`/desk/...`): thin routes that parse, call a handler and map its errors to 4xx."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from services.intake import handlers
from services.intake.commands import (
    RecordObligationPaid,
    RecordResultHandedOver,
    RecordSupplementReceived,
    RecordWithdrawalRequested,
    Refuse,
    RegisterAtCounter,
    RequestPickup,
    RequestReceptionSupplement,
    SubmitOnline,
)
from services.intake.documents import render
from services.intake.domain import (
    STATUS_NAMES,
    STATUS_OF,
    IntakeRuleError,
    InvalidDossierError,
    TransitionNotAllowedError,
)
from services.intake.store import DossierRow
from shared.calendar.engine import MissingCalendarYearError
from shared.calendar.zone import local_text
from shared.identity.fastapi import require_role
from shared.identity.staff import Staff
from shared.outbox.writer import Outbox
from shared.rate_limit import rate_limited
from shared.rules.procedures import CatalogueLookupError
from shared.rules.store import RulesNotLoadedError
from shared.service import ServiceRuntime

Reception = Annotated[Staff, Depends(require_role("reception", "admin"))]
Admin = Annotated[Staff, Depends(require_role("admin"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def view(row: DossierRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "code": row.code,
        "desk": row.desk_code,
        "procedure": {"code": row.procedure_code, "version": row.procedure_version},
        "channel": row.channel,
        "state": row.state.value,
        "return_channel": row.return_channel,
        "documents": row.documents,
        "fee_vnd": row.fee_vnd,
        "appointment": local_text(row.appointment),
        "due_at": row.due_at.isoformat() if row.due_at else None,
        "calendar_version": row.calendar_version,
        "supplement_items": row.supplement_items,
    }


@contextmanager
def as_http_errors() -> Iterator[None]:
    """The handlers' errors as HTTP answers: the client learns what is wrong, nothing is half-written."""
    try:
        yield
    except InvalidDossierError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {"problems": error.problems}) from error
    except (TransitionNotAllowedError, handlers.IdempotencyConflictError) as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except (IntakeRuleError, CatalogueLookupError) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    except handlers.DossierNotFoundError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except handlers.OtherAgencyError as error:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from error
    except (RulesNotLoadedError, MissingCalendarYearError) as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from error


OUTBOX = Outbox("intake")


async def context(request: Request) -> handlers.IntakeContext:  # a coroutine, not run in the thread pool
    runtime: ServiceRuntime = request.app.state.runtime
    if runtime.pool is None or runtime.rules is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "intake is starting")
    return handlers.IntakeContext(runtime.pool, OUTBOX, runtime.rules, runtime.clock)


Context = Annotated[handlers.IntakeContext, Depends(context)]


desk_router = APIRouter(prefix="/desk", tags=["reception desk"])


@desk_router.post("/dossiers", status_code=status.HTTP_201_CREATED, summary="Register a dossier handed in at the desk")
async def register(
    command: RegisterAtCounter, staff: Reception, ctx: Context, response: Response, key: IdempotencyKey = None
) -> dict[str, Any]:
    with as_http_errors():
        registered = await handlers.register_at_counter(ctx, staff, command, key)
    if registered.replayed:
        response.status_code = status.HTTP_200_OK
    return {**view(registered.dossier), "tracking_secret": registered.tracking_secret}


@desk_router.get("/dossiers/by-code/{code}", summary="Find a dossier of this desk by its code")
async def by_code(code: str, staff: Reception, ctx: Context) -> dict[str, Any]:
    with as_http_errors():
        return view(await handlers.find_for_desk(ctx, staff, code))


@desk_router.post("/dossiers/{dossier_id}/accept", summary="Accept a complete dossier (Mẫu 01): status 2")
async def accept(dossier_id: uuid.UUID, staff: Reception, ctx: Context) -> dict[str, Any]:
    with as_http_errors():
        return view(await handlers.accept(ctx, staff, dossier_id))


@desk_router.post("/dossiers/{dossier_id}/refuse", summary="Refuse a dossier (Mẫu 03): status 3")
async def refuse(dossier_id: uuid.UUID, command: Refuse, staff: Reception, ctx: Context) -> dict[str, Any]:
    with as_http_errors():
        return view(await handlers.refuse(ctx, staff, dossier_id, command))


@desk_router.post("/dossiers/{dossier_id}/reception-supplement", summary="List what is missing (Mẫu 02 at the desk)")
async def supplement(
    dossier_id: uuid.UUID, command: RequestReceptionSupplement, staff: Reception, ctx: Context
) -> dict[str, Any]:
    with as_http_errors():
        return view(await handlers.request_reception_supplement(ctx, staff, dossier_id, command))


@desk_router.post("/dossiers/{dossier_id}/facts/supplement-received", summary="The applicant supplemented (status 5)")
async def supplement_received(
    dossier_id: uuid.UUID, command: RecordSupplementReceived, staff: Reception, ctx: Context
) -> dict[str, Any]:
    return await fact(ctx, staff, dossier_id, command)


@desk_router.post("/dossiers/{dossier_id}/facts/obligation-paid", summary="A financial obligation was paid")
async def obligation_paid(
    dossier_id: uuid.UUID, command: RecordObligationPaid, staff: Reception, ctx: Context
) -> dict[str, Any]:
    return await fact(ctx, staff, dossier_id, command)


@desk_router.post("/dossiers/{dossier_id}/facts/withdrawal-requested", summary="The applicant asks to withdraw")
async def withdrawal_requested(
    dossier_id: uuid.UUID, command: RecordWithdrawalRequested, staff: Reception, ctx: Context
) -> dict[str, Any]:
    return await fact(ctx, staff, dossier_id, command)


@desk_router.post("/dossiers/{dossier_id}/facts/result-handed-over", summary="The result was handed over at the desk")
async def result_handed_over(
    dossier_id: uuid.UUID, command: RecordResultHandedOver, staff: Reception, ctx: Context
) -> dict[str, Any]:
    return await fact(ctx, staff, dossier_id, command)


async def fact(
    ctx: handlers.IntakeContext, staff: Staff, dossier_id: uuid.UUID, command: handlers.FactCommand
) -> dict[str, Any]:
    with as_http_errors():
        event = await handlers.record_fact(ctx, staff, dossier_id, command)
    return {"recorded": event.event_type, "note": "routing applies the fact to the dossier's status, or rejects it"}


@desk_router.post(
    "/dossiers/{dossier_id}/slip",
    response_class=HTMLResponse,
    summary="Print the receipt and appointment slip (Mẫu 01)",
)
async def slip(dossier_id: uuid.UUID, staff: Reception, ctx: Context, request: Request) -> HTMLResponse:
    return await printed(ctx, staff, dossier_id, "slip", request)


@desk_router.get(
    "/dossiers/{dossier_id}/supplement-request", response_class=HTMLResponse, summary="Print the Mẫu 02 of the desk"
)
async def supplement_request(dossier_id: uuid.UUID, staff: Reception, ctx: Context, request: Request) -> HTMLResponse:
    return await printed(ctx, staff, dossier_id, "supplement", request)


@desk_router.get("/dossiers/{dossier_id}/refusal", response_class=HTMLResponse, summary="Print the refusal (Mẫu 03)")
async def refusal(dossier_id: uuid.UUID, staff: Reception, ctx: Context, request: Request) -> HTMLResponse:
    return await printed(ctx, staff, dossier_id, "refusal", request)


async def printed(
    ctx: handlers.IntakeContext, staff: Staff, dossier_id: uuid.UUID, form: str, request: Request
) -> HTMLResponse:
    public_url = getattr(request.app.state.runtime.settings, "public_url", str(request.base_url).rstrip("/"))
    with as_http_errors():
        return HTMLResponse(await handlers.print_form(ctx, staff, dossier_id, form, public_url))


public_router = APIRouter(prefix="/public", tags=["applicants"], dependencies=[Depends(rate_limited)])


@public_router.post("/dossiers", status_code=status.HTTP_201_CREATED, summary="Submit a dossier online (status 1)")
async def submit_online(
    command: SubmitOnline, ctx: Context, response: Response, key: IdempotencyKey = None
) -> dict[str, Any]:
    with as_http_errors():
        registered = await handlers.submit_online(ctx, command, key)
    return public_answer(registered, response)


@public_router.post(
    "/pickups", status_code=status.HTTP_201_CREATED, summary="Ask the post to collect a dossier at home (kênh 3)"
)
async def request_pickup(
    command: RequestPickup, ctx: Context, response: Response, key: IdempotencyKey = None
) -> dict[str, Any]:
    with as_http_errors():
        registered = await handlers.request_pickup(ctx, command, key)
    return public_answer(registered, response)


def public_answer(registered: handlers.Registered, response: Response) -> dict[str, Any]:
    """What an applicant learns of a registration: its code, its state and its tracking secret. A replayed request
    (same Idempotency-Key) answers 200 instead of 201, with a new secret that replaces the one of the lost answer."""
    if registered.replayed:
        response.status_code = status.HTTP_200_OK
    dossier = registered.dossier
    return {"code": dossier.code, "state": dossier.state.value, "tracking_secret": registered.tracking_secret}


async def tracked(ctx: handlers.IntakeContext, code: str, secret: str) -> handlers.Tracking:
    found = await handlers.track(ctx, code, secret)
    if found is None:
        # The same answer for an unknown code and a wrong secret: codes cannot be enumerated.
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no dossier with this code and secret")
    return found


def tracking_view(found: handlers.Tracking) -> dict[str, Any]:
    dossier = found.dossier
    own = STATUS_OF[dossier.state]
    return {
        "code": dossier.code,
        "status": found.status or (int(own) if own is not None else None),
        "state": dossier.state.value,
        "procedure": dossier.procedure_code,
        "appointment": local_text(dossier.appointment),
        "timeline": [{"event": event, "at": local_text(at)} for event, at, _ in found.timeline],
    }


Secret = Annotated[str, Query(min_length=1, max_length=40)]


@public_router.get("/tracking/{code}", summary="Track a dossier with its code and the secret printed on the slip")
async def tracking(code: str, secret: Secret, ctx: Context) -> dict[str, Any]:
    return tracking_view(await tracked(ctx, code, secret))


@public_router.get("/tracking/{code}/page", response_class=HTMLResponse, summary="The tracking page the QR opens")
async def tracking_page(code: str, secret: Secret, ctx: Context) -> HTMLResponse:
    found = await tracked(ctx, code, secret)
    view = tracking_view(found)
    status_name = STATUS_NAMES.get(view["status"], "Đã tiếp nhận, chờ kiểm tra")
    return HTMLResponse(
        render("tracking", dossier=found.dossier, desk=found.dossier.desk_code, procedure=view["procedure"],
               status=status_name, appointment=view["appointment"], timeline=view["timeline"])
    )  # fmt: skip


@desk_router.post(
    "/dossiers/{dossier_id}/erase-contact",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase the applicant's personal data (admin): here, and by tombstone on the contacts topic",
)
async def erase_contact(dossier_id: uuid.UUID, staff: Admin, ctx: Context) -> None:
    with as_http_errors():
        await handlers.erase_contact(ctx, staff, dossier_id)
