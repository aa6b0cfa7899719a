"""What routing applies from other services' events. So far: an accepted dossier starts its route."""

from __future__ import annotations

from dataclasses import dataclass

from services.routing.handlers import RoutingContext, start_route
from shared.consumer.runner import ConsumerRunner, Handler
from shared.db import Connection
from shared.events.catalogue import intake, spec_for
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


def routing_consumer(runtime: ServiceRuntime) -> AfterRulesLoaded:
    # Built once the database is reachable, after the rules worker (see the composition root's order).
    assert runtime.pool is not None
    assert runtime.rules is not None
    ctx = RoutingContext(Outbox("routing"), runtime.rules, runtime.clock)

    async def accepted(conn: Connection, envelope: Envelope) -> None:
        await start_route(ctx, conn, envelope)

    runner = ConsumerRunner(
        group=GROUP,
        topics=[intake.TOPIC],
        handlers={"dossier.accepted": Handler(accepted)},
        pool=runtime.pool,
        kafka=runtime.settings.kafka,
        registry=runtime.registry,
        is_known_type=lambda event_type: spec_for(event_type) is not None,
    )
    return AfterRulesLoaded(runtime.rules, runner)
