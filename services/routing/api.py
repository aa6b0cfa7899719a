"""The processing staff API (`/processing/...`) and the accountability board (`/accountability`): thin routes that
parse, run one handler in one transaction, and map its errors to 4xx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse

from services.routing import documents, handlers, queries, store
from services.routing.accountability import Period
from services.routing.board import board_of
from services.routing.commands import CompleteStep, IssueApology, RequestObligation, RequestSupplement, StopProcessing
from services.routing.domain import NAMES, ProcessingRuleError, TransitionRefusedError
from services.routing.settings import RoutingSettings
from shared.calendar.engine import MissingCalendarYearError
from shared.db import Connection
from shared.identity.fastapi import CurrentStaff, ensure_agency, require_role
from shared.identity.staff import Staff
from shared.outbox.writer import Outbox
from shared.rules.store import RulesNotLoadedError
from shared.service import ServiceRuntime, on_event_loop

Head = Annotated[Staff, Depends(require_role("head"))]
OUTBOX = Outbox("routing")


class Routing:
    """What a request needs: the context of the use cases and a connection pool."""

    def __init__(self, request: Request) -> None:
        runtime: ServiceRuntime = request.app.state.runtime
        if runtime.pool is None or runtime.rules is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "routing is starting")
        settings = runtime.settings
        window = settings.near_due_window_hours if isinstance(settings, RoutingSettings) else 8.0
        self.ctx = handlers.RoutingContext(OUTBOX, runtime.rules, runtime.clock, window)
        self.pool: asyncpg.Pool = runtime.pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One use case, one transaction; the handlers' errors become the client's 4xx."""
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                yield conn
        except handlers.DossierNotFoundError as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
        except handlers.OtherAgencyError as error:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(error)) from error
        except (handlers.StepStateError, TransitionRefusedError) as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
        except ProcessingRuleError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
        except (RulesNotLoadedError, MissingCalendarYearError) as error:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from error


Context = Annotated[Routing, Depends(on_event_loop(Routing))]
processing_router = APIRouter(prefix="/processing", tags=["processing agencies"])


async def dossier_view(routing: Routing, conn: Connection, staff: Staff, code: str) -> dict[str, Any]:
    dossier, steps = await documents.visible_dossier(conn, staff, code)
    now, calendar = routing.ctx.clock.now(), routing.ctx.calendar()
    apology = await store.apology_of(conn, dossier.id)
    return {
        "code": dossier.code, "desk": dossier.desk_code, "status": int(dossier.status),
        "status_name": NAMES.get(dossier.status), "procedure": {"code": dossier.procedure_code,
                                                               "version": dossier.procedure_version},
        "received_at": dossier.received_at, "due_at": dossier.due_at, "appointment_at": dossier.appointment_at,
        "return_channel": dossier.return_channel, "ended_at": dossier.ended_at, "timeliness": dossier.timeliness,
        "open_request": await queries.open_request_of(conn, dossier.id),
        "apology": apology.__dict__ if apology else None,
        "steps": [
            {
                "step_id": s.step_id, "agency": s.agency_code, "kind": s.kind, "from_step_id": s.from_step_id,
                "started_at": s.started_at, "deadline_at": s.deadline_at, "claimed_by": s.claimed_by,
                "completed_at": s.completed_at, "note": s.note,
                "state": s.timeliness or calendar.classify_open(
                    s.deadline_at, dossier.paused_at or now, routing.ctx.near_due_window_hours),
            }
            for s in steps
        ],
    }  # fmt: skip


@processing_router.get("/queue", summary="The agency's open steps: late first, then near-late, then by deadline")
async def work_queue(
    staff: CurrentStaff, routing: Context, agency: str | None = None, procedure: str | None = None,
    state: Literal["late", "near_late", "not_yet_due"] | None = None, mine: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:  # fmt: skip
    agency = agency or staff.agency
    ensure_agency(staff, agency)
    async with routing.transaction() as conn:
        now, calendar, window = routing.ctx.clock.now(), routing.ctx.calendar(), routing.ctx.near_due_window_hours
        open_steps = await queries.open_steps_of(conn, agency, procedure, limit)
    order = {"late": 0, "near_late": 1, "not_yet_due": 2}
    queue = [
        {**step.__dict__, "state": calendar.classify_open(step.deadline_at, step.paused_at or now, window)}
        for step in open_steps
        if not mine or step.claimed_by == staff.staff_id
    ]
    queue = [q for q in queue if state is None or q["state"] == state]
    queue.sort(key=lambda q: (order[q["state"]], q["deadline_at"]))
    return {"agency": agency, "steps": queue}


@processing_router.get("/dossiers/{code}", summary="A dossier in processing: status, steps, open request, apology")
async def dossier(code: str, staff: CurrentStaff, routing: Context) -> dict[str, Any]:
    async with routing.transaction() as conn:
        return await dossier_view(routing, conn, staff, code)


StepAction = Callable[[Connection], Awaitable[None]]


async def acted(routing: Routing, staff: Staff, code: str, action: StepAction) -> dict[str, Any]:
    async with routing.transaction() as conn:
        await action(conn)
        return await dossier_view(routing, conn, staff, code)


@processing_router.post("/dossiers/{code}/steps/{step_id}/claim", summary="Take a step of your agency to work on")
async def claim(code: str, step_id: str, staff: CurrentStaff, routing: Context) -> dict[str, Any]:
    return await acted(routing, staff, code, lambda conn: handlers.claim_step(routing.ctx, conn, staff, code, step_id))


@processing_router.post(
    "/dossiers/{code}/steps/{step_id}/complete",
    summary="Complete a step: the next steps start, or on the last one the result is ready (status 9)",
)
async def complete(
    code: str, step_id: str, body: CompleteStep, staff: CurrentStaff, routing: Context
) -> dict[str, Any]:
    return await acted(
        routing, staff, code, lambda conn: handlers.complete_step(routing.ctx, conn, staff, code, step_id, body)
    )


@processing_router.post(
    "/dossiers/{code}/steps/{step_id}/supplement-request", summary="Ask the applicant to supplement (status 5)"
)
async def supplement_request(
    code: str, step_id: str, body: RequestSupplement, staff: CurrentStaff, routing: Context
) -> dict[str, Any]:
    return await acted(
        routing, staff, code, lambda conn: handlers.request_supplement(routing.ctx, conn, staff, code, step_id, body)
    )


@processing_router.post(
    "/dossiers/{code}/steps/{step_id}/obligation-request", summary="Notify a financial obligation (status 6)"
)
async def obligation_request(
    code: str, step_id: str, body: RequestObligation, staff: CurrentStaff, routing: Context
) -> dict[str, Any]:
    return await acted(
        routing, staff, code, lambda conn: handlers.request_obligation(routing.ctx, conn, staff, code, step_id, body)
    )


@processing_router.post("/dossiers/{code}/steps/{step_id}/stop", summary="Stop processing, with the reason (status 8)")
async def stop(code: str, step_id: str, body: StopProcessing, staff: CurrentStaff, routing: Context) -> dict[str, Any]:
    return await acted(
        routing, staff, code, lambda conn: handlers.stop_processing(routing.ctx, conn, staff, code, step_id, body)
    )


@processing_router.post("/dossiers/{code}/apology", summary="Apologise with a new appointment (Mẫu 04; heads only)")
async def apology(code: str, body: IssueApology, staff: Head, routing: Context) -> dict[str, Any]:
    return await acted(routing, staff, code, lambda conn: handlers.issue_apology(routing.ctx, conn, staff, code, body))


@processing_router.get("/dossiers/{code}/apology-letter", response_class=HTMLResponse, summary="Print Mẫu 04")
async def apology_letter(code: str, staff: CurrentStaff, routing: Context) -> HTMLResponse:
    async with routing.transaction() as conn:
        return HTMLResponse(await documents.print_form(routing.ctx, conn, staff, code, "apology"))


@processing_router.get("/dossiers/{code}/control-sheet", response_class=HTMLResponse, summary="Print Mẫu 05")
async def control_sheet(code: str, staff: CurrentStaff, routing: Context) -> HTMLResponse:
    async with routing.transaction() as conn:
        return HTMLResponse(await documents.print_form(routing.ctx, conn, staff, code, "control-sheet"))


accountability_router = APIRouter(tags=["accountability"])


@accountability_router.get("/accountability", summary="Accountability figures per agency for a period (766 method)")
async def accountability(
    staff: CurrentStaff, routing: Context, first_day: Annotated[date, Query(alias="from")],
    last_day: Annotated[date, Query(alias="to")], agency: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    if last_day < first_day:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "`to` is before `from`")
    if agency is None and staff.role != "admin":
        agency = staff.agency
    if agency is not None:
        ensure_agency(staff, agency)
    async with routing.transaction() as conn:
        board = await board_of(routing.ctx, conn, Period(first_day, last_day))
    return {
        "from": first_day,
        "to": last_day,
        "agencies": [a for a in board if agency is None or a["agency"] == agency],
    }
