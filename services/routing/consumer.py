"""What routing applies from other services' events: an accepted dossier starts its route; the facts of intake and
postal move its status (or are rejected with the reason); survey answers feed the satisfaction index."""

from __future__ import annotations

from dataclasses import dataclass

from services.routing import facts
from services.routing.handlers import RoutingContext, start_route
from services.routing.settings import RoutingSettings
from shared.consumer.runner import ConsumerRunner, Handler
from shared.db import Connection
from shared.events.catalogue import intake, notification, postal, spec_for
from shared.events.envelope import Envelope
from shared.outbox.writer import Outbox
from shared.rules.store import RulesStore
from shared.service import ServiceRuntime

GROUP = "lienthong.routing"


@dataclass
class AfterRulesLoaded:
    """Routes are decided by the published rules: consume only once they are loaded (a broker outage at start-up
    delays both alike), so that no event fails, or dead-letters, for want of them."""

    rules: RulesStore
    runner: ConsumerRunner

    async def run(self) -> None:
        await self.rules.loaded.wait()
        await self.runner.run()


def routing_context(runtime: ServiceRuntime) -> RoutingContext:
    assert runtime.rules is not None  # the rules worker is built first (see the composition root's order)
    settings = runtime.settings
    assert isinstance(settings, RoutingSettings)
    return RoutingContext(Outbox("routing"), runtime.rules, runtime.clock, settings.near_due_window_hours)


def routing_consumer(runtime: ServiceRuntime) -> AfterRulesLoaded:
    assert runtime.pool is not None  # built once the database is reachable
    ctx = routing_context(runtime)

    async def accepted(conn: Connection, envelope: Envelope) -> None:
        await start_route(ctx, conn, envelope)

    async def fact(conn: Connection, envelope: Envelope) -> None:
        await facts.apply(ctx, conn, envelope)

    handlers = {"dossier.accepted": Handler(accepted)}
    handlers |= {fact_type: Handler(fact, ready=facts.ready) for fact_type in facts.APPLIERS}
    handlers["survey.answered"] = Handler(facts.survey_answered, ready=facts.known_dossier)
    # Kept on the runtime: the admin endpoints replay its dead letters into it.
    runner = runtime.consumer = ConsumerRunner(
        group=GROUP,
        topics=[intake.TOPIC, postal.TOPIC, notification.TOPIC],
        handlers=handlers,
        pool=runtime.pool,
        kafka=runtime.settings.kafka,
        registry=runtime.registry,
        is_known_type=lambda event_type: spec_for(event_type) is not None,
    )
    return AfterRulesLoaded(ctx.rules, runner)
