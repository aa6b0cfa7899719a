"""The process shell every service shares: start-up (database, migrations, workers), /healthz, /readyz,
/metrics, and serving the FastAPI app with uvicorn. Each service's `__main__` is its composition root and
calls `serve` with its settings and migrations; later issues hand it the service's routes and workers."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import asyncpg
import structlog
import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from pydantic import SecretStr

from shared.clock import ClockSettings, clock_from
from shared.consumer.runner import ConsumerRunner
from shared.db import CONNECTION_LOST, DATABASE_ERRORS, MigrationSource, apply_migrations, create_pool, ensure_database
from shared.events.asyncapi import served_json, served_yaml
from shared.identity.fastapi import REALM, CurrentStaff, use_identity
from shared.identity.settings import IdentitySettings
from shared.kafka.probe import BrokerProbe
from shared.logging import configure_logging
from shared.operations.api import operations_router
from shared.outbox.relay import Relay
from shared.rate_limit import FixedWindowLimiter
from shared.rules.store import RulesStore
from shared.settings import ServiceSettings

log = structlog.get_logger(__name__)
T = TypeVar("T")


class Worker(Protocol):
    """A background loop of the service (the outbox relay, a consumer runner): runs until cancelled and
    survives broker and database outages by itself."""

    async def run(self) -> None: ...


WorkerFactory = Callable[["ServiceRuntime"], Worker]

START_RETRY_S = (0.5, 1.0, 2.0, 5.0)


@dataclass
class StartupState:
    migrations_applied: bool = False
    workers_started: bool = False
    error: str | None = None
    attempts: int = 0


@dataclass
class ServiceRuntime:
    """The long-lived resources of one service process, built at start-up and disposed of at shutdown."""

    settings: ServiceSettings
    migrations: list[MigrationSource]
    worker_factories: Sequence[WorkerFactory] = ()
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    pool: asyncpg.Pool | None = None
    state: StartupState = field(default_factory=StartupState)

    def __post_init__(self) -> None:
        self.probe = BrokerProbe(self.settings.kafka)
        self.rules: RulesStore | None = None  # for the services that decide deadlines and routes
        # The group's runner, set by the worker factory that builds it: the admin endpoints replay into it.
        self.consumer: ConsumerRunner | None = None
        # Built here, at start-up, so that a controllable clock in production stops the process at once.
        self.clock = clock_from(ClockSettings())
        self._tasks: list[asyncio.Task[None]] = []
        self._workers: list[asyncio.Task[None]] = []
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        Gauge("lienthong_ready", "1 when /readyz answers ready", registry=self.registry).set_function(
            lambda: float(self.state.migrations_applied and self.state.workers_started)
        )
        Gauge(
            "lienthong_broker_reachable", "1 when the last broker check succeeded", registry=self.registry
        ).set_function(lambda: float(self.probe.status.reachable))

    async def start(self) -> None:
        """Runs in the background so that the HTTP API answers (not ready) while the database is away."""
        delays = iter(START_RETRY_S)
        delay = 0.0
        while self.pool is None or not self.state.migrations_applied:
            self.state.attempts += 1
            try:
                if self.settings.creates_own_database:
                    await ensure_database(self.settings.dsn)
                self.pool = self.pool or await create_pool(self.settings.dsn)
                async with self.pool.acquire() as conn:
                    await apply_migrations(conn, self.migrations)
                self.state.migrations_applied = True
                self.state.error = None
            except DATABASE_ERRORS as error:
                self.state.error = f"{type(error).__name__}: {error}"
                delay = next(delays, delay)
                log.warning("startup.retrying", error=self.state.error, retry_in_s=delay)
                await asyncio.sleep(delay)
        self._tasks.append(asyncio.create_task(self.probe.run(), name="broker-probe"))
        for factory in self.worker_factories:
            worker = factory(self)
            task = asyncio.create_task(worker.run(), name=type(worker).__name__)
            task.add_done_callback(_log_worker_end)
            self._workers.append(task)
        self._tasks.extend(self._workers)
        self.state.workers_started = True
        log.info("service.started", port=self.settings.http_port, database=self.settings.database_name)

    def start_in_background(self) -> None:
        self._tasks.append(asyncio.create_task(self._start_logging_failure(), name="startup"))

    async def _start_logging_failure(self) -> None:
        try:
            await self.start()
        except Exception as error:  # a permanent start-up error: visible in /readyz and the log, never silent
            self.state.error = f"{type(error).__name__}: {error}"
            log.exception("startup.failed")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.probe.close()
        if self.pool is not None:
            await self.pool.close()

    async def readiness(self) -> dict[str, Any]:
        # Workers count as started once running, connected or not: a broker outage is not unreadiness.
        crashed = [task.get_name() for task in self._workers if task.done()]
        checks = {
            "database": await self._database_reachable(),
            "migrations": self.state.migrations_applied,
            "workers": self.state.workers_started and not crashed,
        }
        return {"ready": all(checks.values()), "checks": checks, "error": self.state.error}

    async def _database_reachable(self) -> bool:
        if self.pool is None:
            return False
        try:
            async with asyncio.timeout(2):
                return bool(await self.pool.fetchval("SELECT true"))
        except DATABASE_ERRORS:  # TimeoutError among them: an OSError
            return False

    def health(self) -> dict[str, Any]:
        broker = self.probe.status
        return {
            "status": "alive",
            "service": self.settings.service,
            "broker": {
                "reachable": broker.reachable,
                "brokers": broker.brokers,
                "checked_at": broker.checked_at.isoformat() if broker.checked_at else None,
                "error": broker.error,
            },
            "startup": {"attempts": self.state.attempts, "error": self.state.error},
            "clock": self.clock.now().isoformat(),
        }


def _log_worker_end(task: asyncio.Task[Any]) -> None:
    """A worker runs until the service stops; one that ends before has crashed, and the service is no longer ready:
    say why, loudly, instead of leaving the reason in a task nobody awaits."""
    if task.cancelled():
        return
    error = task.exception()
    log.error("worker.crashed", worker=task.get_name(), error=f"{type(error).__name__}: {error}" if error else None,
              exc_info=error)  # fmt: skip


def build_app(
    runtime: ServiceRuntime, title: str, identity: IdentitySettings, routers: Sequence[APIRouter] = ()
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start_in_background()
        yield
        await runtime.stop()

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.runtime = runtime
    for away in CONNECTION_LOST:
        app.add_exception_handler(away, database_away)
    app.state.public_limiter = FixedWindowLimiter(runtime.settings.public_requests_per_minute)
    use_identity(app, identity.jwks_source(), issuer=identity.issuer)
    for router in (*routers, operations_router):
        app.include_router(router)

    @app.get("/whoami", tags=["operations"], summary="The staff member of the bearer token, as this service sees it")
    async def whoami(staff: CurrentStaff) -> dict[str, Any]:
        return {"staff_id": staff.staff_id, "agency": staff.agency, "role": staff.role, "demo": staff.demo}

    @app.get("/healthz", tags=["operations"], summary="Alive, with broker and start-up details")
    async def healthz() -> dict[str, Any]:
        return runtime.health()

    @app.get("/readyz", tags=["operations"], summary="Database up, migrations applied, workers started")
    async def readyz() -> JSONResponse:
        readiness = await runtime.readiness()
        return JSONResponse(readiness, status_code=200 if readiness["ready"] else 503)

    @app.get("/rules", tags=["operations"], summary="The rule versions this service has loaded")
    async def rules() -> JSONResponse:
        if runtime.rules is None:
            return JSONResponse({"detail": "this service does not use the rules"}, status_code=404)
        return JSONResponse({"loaded": runtime.rules.loaded.is_set(), "documents": runtime.rules.summary()})

    # The public contract of the events, like /docs for the HTTP API: no token. Plain `def`: the first call builds
    # the document from the catalogue in a worker thread, not on the event loop; later ones are served from memory.
    @app.get("/asyncapi.yaml", tags=["integrators"], summary="The AsyncAPI 3 document of every event (docs/events.md)")
    def asyncapi_yaml() -> Response:
        return Response(served_yaml(), media_type="application/yaml")

    @app.get("/asyncapi.json", tags=["integrators"], summary="The same AsyncAPI document, as JSON")
    def asyncapi_json() -> Response:
        return Response(served_json(), media_type="application/json")

    add_metrics_route(app, runtime.registry, runtime.settings.metrics_token)
    return app


def add_metrics_route(app: FastAPI, registry: CollectorRegistry, token: SecretStr | None) -> None:
    """`/metrics` for Prometheus, behind a bearer token once one is configured."""
    metrics_token = token.get_secret_value() if token else ""

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics (a bearer token when one is configured)")
    async def metrics(request: Request) -> Response:
        if metrics_token and not bearer_matches(request.headers.get("authorization", ""), metrics_token):
            return JSONResponse(
                {"detail": "the metrics take a bearer token: send 'Authorization: Bearer <token>'"},
                status_code=401,
                headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'},
            )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


# The database going away under a request: the client is told to try again, and nothing was written, as every
# handler runs its use case in one transaction.
async def database_away(request: Request, error: Exception) -> JSONResponse:
    log.warning("request.database_unavailable", path=request.url.path, error=f"{type(error).__name__}: {error}")
    return JSONResponse(
        {"detail": "the service's database is unavailable: try again in a few seconds"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def on_event_loop(dependency: Callable[[Request], T]) -> Callable[[Request], Awaitable[T]]:
    """A request's dependency made a coroutine. FastAPI runs a plain function or a class in its thread pool, a hand
    over to a thread and back on every request, for work of microseconds."""

    async def run(request: Request) -> T:
        return dependency(request)

    return run


def bearer_matches(authorization: str, token: str) -> bool:
    """Whether an Authorization header carries this bearer token (the scheme in any case, RFC 6750), compared in
    constant time so that the answer's timing tells nothing of the token."""
    scheme, _, credentials = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), token.encode())


def rules_worker(runtime: ServiceRuntime) -> Worker:
    """Follows the published rules (procedure versions, holiday years, agencies) for this process."""
    runtime.rules = RulesStore(runtime.settings.kafka)
    return runtime.rules


def relay_worker(runtime: ServiceRuntime) -> Worker:
    return Relay(runtime.settings.dsn, runtime.settings.kafka, runtime.registry)


def serve(
    settings: ServiceSettings,
    migrations: list[MigrationSource],
    title: str,
    workers: Sequence[WorkerFactory] = (),
    routers: Sequence[APIRouter] = (),
) -> None:
    configure_logging(settings.log, service=settings.service)
    runtime = ServiceRuntime(settings, migrations, workers)
    app = build_app(runtime, title, IdentitySettings(), routers)
    # uvloop (libuv) and httptools take the event loop, the sockets and HTTP parsing out of Python: socket writes
    # and uvicorn's pure-Python h11 were the largest costs of every service under load (docs/performance.md).
    config = uvicorn.Config(
        app, host=settings.host, port=settings.http_port, log_config=None, access_log=False, lifespan="on",
        loop="uvloop", http="httptools",
    )  # fmt: skip
    uvicorn.Server(config).run()
