"""The console's web app: server-rendered pages (Jinja2) and one small script, in Vietnamese and English.

    /console/login               log in with a staff token (kept in an HttpOnly cookie); /console/logout
    /console/events              the live stream of lifecycle events (server-sent events: /console/events/stream)
    /console/board               the accountability board, from routing's /accountability
    /console/operations          admins: every service's dead letters and blocked dossiers, with replay

What a page shows comes from the services' APIs called with the staff member's own token, so each service still
decides what that staff member may see or do; the stream is filtered here, by the agencies each event names."""

from __future__ import annotations

import asyncio
import base64
import calendar
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Query, Request, Response, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from prometheus_client import CollectorRegistry, Gauge, PlatformCollector, ProcessCollector
from starlette.datastructures import URL, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deploy.local.settings import SERVICES
from services.console.language import LANGUAGES, Labels, Language
from services.console.service_calls import Answer, ServiceCalls
from services.console.session import (
    COOKIE,
    COOKIE_PATH,
    AdminRequestSession,
    LoginRequiredError,
    PageSession,
    RequestSession,
    SameOrigin,
    Session,
    current_session,
    language_of,
    verify,
)
from services.console.settings import ConsoleSettings
from services.console.stream import EventHub, StreamFilter, TooManyClientsError
from shared.calendar.zone import local, local_text
from shared.clock import Clock
from shared.events.catalogue import CATALOGUE
from shared.identity.fastapi import use_identity
from shared.identity.settings import IdentitySettings
from shared.identity.staff import Staff
from shared.identity.tokens import TokenError
from shared.operations.commands import LIFECYCLE_TOPICS
from shared.operations.events import EventLine
from shared.service import add_metrics_route

FOLDER = Path(__file__).parent
TEMPLATES = Environment(loader=FileSystemLoader(FOLDER / "templates"), autoescape=select_autoescape(["html"]))
SCRIPT = FOLDER / "static" / "console.js"
STYLE = (FOLDER / "static" / "console.css").read_text()
# The page's one inline style is allowed by its hash; scripts only from the console itself, nothing inline.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'"
)
STREAM_TYPES = sorted(spec.event_type for spec in CATALOGUE.values() if spec.topic in LIFECYCLE_TOPICS)
# How often a quiet stream says it is alive (so that proxies keep it open) and checks the session is still valid.
KEEP_ALIVE_S = 15.0
MAX_FORM_BYTES = 16_384


@pass_context
def percent(context: Context, rate: float | None) -> str:
    """A rate as people of the page's language write it: `87.5 %`, `87,5 %`; a missing one says so."""
    labels: Labels = context["t"]
    if rate is None:
        return labels("board.no_rate")
    text = f"{rate * 100:.1f} %"
    return text.replace(".", ",") if labels.language == "vi" else text


def when(instant: str | None) -> str:
    """An instant the services gave in ISO 8601, in Vietnam's time."""
    return local_text(datetime.fromisoformat(instant)) or "" if instant else ""


TEMPLATES.filters |= {"percent": percent, "when": when}


SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # staff's pages are theirs alone
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every answer; a plain ASGI middleware, so that the event stream passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


@dataclass
class Console:
    """What the pages share in one console process: the stream's hub and its reader, the calls to the services."""

    settings: ConsoleSettings
    hub: EventHub
    calls: ServiceCalls
    clock: Clock
    reader: asyncio.Task[None] | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def stopping(self) -> None:
        """Called from the signal handler of a stop: ends the open event streams, from the event loop's thread."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.hub.close)

    @property
    def reading(self) -> bool:
        return self.reader is not None and not self.reader.done()


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def render(
    request: Request, template: str, session: Session | None, status_code: int = 200, **values: Any
) -> HTMLResponse:
    language = language_of(request)
    switch_url = relative(request.url.include_query_params(lang=other_language(language)))
    return HTMLResponse(page_html(template, language, session, switch_url, **values), status_code=status_code)


def page_html(template: str, language: Language, session: Session | None, switch_url: str, **values: Any) -> str:
    """A page in `language`; `switch_url` is the same page in the other language."""
    return TEMPLATES.get_template(template).render(
        t=Labels(language), lang=language, session=session, style=Markup(STYLE),
        other_language=other_language(language), switch_url=switch_url, **values,
    )  # fmt: skip


def other_language(language: Language) -> Language:
    return next(code for code in LANGUAGES if code != language)


def build_console(
    settings: ConsoleSettings, identity: IdentitySettings, clock: Clock, registry: CollectorRegistry
) -> FastAPI:
    console = Console(
        settings,
        EventHub(settings.kafka, settings.stream_buffer, settings.stream_clients, registry),
        ServiceCalls(settings.service_urls(), settings.service_timeout_s),
        clock,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        console.loop = asyncio.get_running_loop()
        console.reader = asyncio.create_task(console.hub.run(), name="console-stream")
        yield
        console.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await console.reader
        await console.calls.close()

    app = FastAPI(title="lienthong console", lifespan=lifespan)
    app.state.console = console
    use_identity(app, identity.jwks_source(), issuer=identity.issuer)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    Gauge("lienthong_ready", "1 when /readyz answers ready", registry=registry).set_function(
        lambda: float(console.reading)
    )

    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoginRequiredError)
    async def to_login(request: Request, error: LoginRequiredError) -> Response:
        target = f"/console/login?lang={error.language}" + ("&expired=1" if error.expired else "")
        response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
        if error.expired:
            response.delete_cookie(COOKIE, path=COOKIE_PATH)
        return response

    add_pages(app)
    add_operations(app)

    @app.get("/healthz", tags=["operations"], summary="Alive, with the live stream's state")
    async def healthz() -> dict[str, Any]:
        since = console.hub.following_since
        return {
            "status": "alive",
            "service": "console",
            "stream": {"following": console.hub.following, "since": since.isoformat() if since else None,
                       "clients": console.hub.clients, "topics": list(LIFECYCLE_TOPICS)},
            "clock": console.clock.now().isoformat(),
        }  # fmt: skip

    @app.get("/readyz", tags=["operations"], summary="The live stream's reader runs (connected to the broker or not)")
    async def readyz() -> JSONResponse:
        # As for the services, the broker is a detail of /healthz, never readiness: the board and the dead letters
        # work without it.
        checks = {"stream_reader": console.reading}
        return JSONResponse({"ready": all(checks.values()), "checks": checks}, status_code=200 if all(checks.values())
                            else 503)  # fmt: skip

    add_metrics_route(app, registry, settings.metrics_token)
    return app


def add_pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> RedirectResponse:
        return RedirectResponse(f"/console?lang={language_of(request)}", status_code=status.HTTP_303_SEE_OTHER)

    @app.get("/console", tags=["console"], summary="The console's first page: the live events")
    async def home(request: Request, session: PageSession) -> RedirectResponse:
        return RedirectResponse(f"/console/events?lang={language_of(request)}", status_code=status.HTTP_303_SEE_OTHER)

    @app.get("/console/login", tags=["console"], summary="The login page: paste a staff token")
    async def login_page(request: Request, expired: bool = False) -> HTMLResponse:
        return render(request, "login.html", await current_session(request), expired=expired, error=None)

    @app.post("/console/login", tags=["console"], summary="Log in with a staff token (a form field `token`)",
              dependencies=[SameOrigin])  # fmt: skip
    async def login(request: Request) -> Response:
        body = await request.body()
        fields = parse_qs(body.decode(errors="replace")) if len(body) <= MAX_FORM_BYTES else {}
        token = "".join(fields.get("token", [""])).strip()
        if token.lower().startswith("bearer "):
            token = token[len("bearer ") :].strip()
        try:
            await verify(request, token)
        except TokenError as error:
            return render(request, "login.html", None, status.HTTP_401_UNAUTHORIZED, expired=False, error=str(error))
        response = RedirectResponse(f"/console/events?lang={language_of(request)}",
                                    status_code=status.HTTP_303_SEE_OTHER)  # fmt: skip
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path=COOKIE_PATH,
                            secure=console_of(request).settings.cookie_secure)  # fmt: skip
        return response

    @app.post("/console/logout", tags=["console"], summary="Log out: the session cookie is cleared",
              dependencies=[SameOrigin])  # fmt: skip
    async def logout(request: Request) -> RedirectResponse:
        response = RedirectResponse(f"/console/login?lang={language_of(request)}",
                                    status_code=status.HTTP_303_SEE_OTHER)  # fmt: skip
        response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
        return response

    @app.get("/console/static/console.js", tags=["console"], summary="The pages' script")
    async def script(session: RequestSession) -> FileResponse:
        return FileResponse(SCRIPT, media_type="text/javascript")

    @app.get("/console/events", tags=["console"], summary="The live events page")
    async def events_page(
        request: Request, session: PageSession, event_type: Annotated[str, Query(alias="type")] = "",
        dossier: str = "",
    ) -> HTMLResponse:  # fmt: skip
        wanted = {"lang": language_of(request)} | ({"type": event_type} if event_type else {})
        wanted |= {"dossier": dossier.strip()} if dossier.strip() else {}
        source = relative(request.url.replace(path="/console/events/stream", query="").include_query_params(**wanted))
        labels = Labels(language_of(request)).prefixed("events")
        return render(request, "events.html", session, types=STREAM_TYPES, event_type=event_type,
                      dossier=dossier.strip(), source=source,
                      labels_json=json.dumps(labels, ensure_ascii=False))  # fmt: skip

    @app.get("/console/events/stream", tags=["console"], summary="The live events as server-sent events")
    async def stream(
        request: Request, session: RequestSession, types: Annotated[list[str], Query(alias="type")] = [],  # noqa: B006
        dossier: str = "",
    ) -> StreamingResponse:  # fmt: skip
        hub = console_of(request).hub
        wanted = StreamFilter(frozenset(t for t in types if t), dossier.strip() or None)
        if hub.clients >= hub.max_clients:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"{hub.max_clients} browsers already follow the "
                                "stream of this console: try again later", headers={"Retry-After": "30"})  # fmt: skip
        return StreamingResponse(server_events(request, hub, session.staff, wanted), media_type="text/event-stream",
                                 headers={"X-Accel-Buffering": "no"})  # fmt: skip

    @app.get("/console/board", tags=["console"], summary="The accountability board, from routing's API")
    async def board(
        request: Request, session: PageSession, first_day: Annotated[date | None, Query(alias="from")] = None,
        last_day: Annotated[date | None, Query(alias="to")] = None, agency: str = "",
    ) -> HTMLResponse:  # fmt: skip
        console = console_of(request)
        today = local(console.clock.now()).date()
        first_day = first_day or today.replace(day=1)
        last_day = last_day or month_end(first_day)
        params = {"from": first_day.isoformat(), "to": last_day.isoformat()} | ({"agency": agency} if agency else {})
        answer = await console.calls.call("routing", "GET", "/accountability", session.token, params)
        agencies = answer.body["agencies"] if answer.ok else []
        return render(request, "board.html", session, answer.status if answer.answered and not answer.ok else 200,
                      first_day=first_day, last_day=last_day, agency=agency, agencies=agencies,
                      failure=None if answer.ok else answer)  # fmt: skip


def add_operations(app: FastAPI) -> None:
    @app.get("/console/operations", tags=["console"],
             summary="Admins: every service's dead letters and blocked dossiers")  # fmt: skip
    async def operations(request: Request, session: PageSession) -> HTMLResponse:
        if session.staff.role != "admin":
            return render(request, "forbidden.html", session, status.HTTP_403_FORBIDDEN)
        return await operations_page(request, session, notice=None)

    @app.post(
        "/console/operations/{service}/dead-letters/{dead_letter_id}/replay", tags=["console"],
        summary="Admins: replay a dead letter in its service's group (forwarded to the service's replay endpoint)",
    )  # fmt: skip
    async def replay(
        request: Request, session: AdminRequestSession, service: str, dead_letter_id: int, _: None = SameOrigin
    ) -> HTMLResponse:
        if service not in SERVICES:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no service {service}; the services are {SERVICES}")
        path = f"/operations/dead-letters/{dead_letter_id}/replay"
        answer = await console_of(request).calls.call(service, "POST", path, session.token)
        code = status.HTTP_200_OK if answer.ok else (answer.status or status.HTTP_502_BAD_GATEWAY)
        return await operations_page(request, session, notice=Notice(dead_letter_id, answer), status_code=code)


@dataclass(frozen=True)
class Notice:
    """What became of a replay, shown above the tables."""

    dead_letter_id: int
    answer: Answer


async def operations_page(
    request: Request, session: Session, notice: Notice | None, status_code: int = 200
) -> HTMLResponse:
    calls = console_of(request).calls
    asked = [calls.call(service, "GET", path, session.token) for service in SERVICES
             for path in ("/operations/dead-letters", "/operations/blocked")]  # fmt: skip
    answers = await asyncio.gather(*asked)
    groups = [{"service": service, "dead_letters": answers[2 * n], "blocked": answers[2 * n + 1]}
              for n, service in enumerate(SERVICES)]  # fmt: skip
    return render(request, "operations.html", session, status_code, groups=groups, notice=notice)


def relative(url: URL) -> str:
    """The URL's path and query: links stay on whatever address the browser reached the console at."""
    return f"{url.path}?{url.query}" if url.query else url.path


def month_end(first_day: date) -> date:
    return first_day.replace(day=calendar.monthrange(first_day.year, first_day.month)[1])


async def server_events(request: Request, hub: EventHub, staff: Staff, wanted: StreamFilter) -> AsyncIterator[str]:
    """One browser's live stream: whether the reader follows the topics, then its lines as they come (and how many
    it lost when it read too slowly); while quiet, a sign of life every KEEP_ALIVE_S, once the session is checked
    again. It ends when the session does, or the process stops."""
    yield "retry: 3000\n\n"
    try:  # subscribed once the response streams: a browser gone before never holds a place
        with hub.subscribe(staff, wanted) as subscription:
            following: bool | None = None
            while not hub.closing:
                if hub.following != following:
                    following = hub.following
                    yield server_event("status", {"following": following})
                await subscription.wait(KEEP_ALIVE_S)
                if hub.closing:  # the process stops: the browser reconnects, to another one
                    return
                lines, dropped = subscription.take()
                if dropped:
                    yield server_event("dropped", {"count": dropped})
                for line in lines:
                    yield server_event("line", line_view(line))
                if not lines and not dropped:
                    if await current_session(request) is None:  # expired, or its key retired
                        yield server_event("ended", {})
                        return
                    yield ": alive\n\n"
    except TooManyClientsError:  # others came first since the route checked
        yield server_event("busy", {})


def line_view(line: EventLine) -> dict[str, Any]:
    return {"text": line.text(), "type": line.type, "code": line.code, "time": line.time.isoformat()}


def server_event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
