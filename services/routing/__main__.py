"""`python -m services.routing`: the routing process's composition root."""

from pathlib import Path

from services.routing.api import accountability_router, processing_router
from services.routing.board import BoardGauges
from services.routing.consumer import routing_consumer, routing_context
from services.routing.scheduler import DeadlineScheduler
from services.routing.settings import RoutingSettings
from shared.consumer import CONSUMER_MIGRATIONS
from shared.db import MigrationSource
from shared.outbox import OUTBOX_MIGRATIONS
from shared.service import ServiceRuntime, relay_worker, rules_worker, serve

ROUTING_MIGRATIONS = MigrationSource("routing", Path(__file__).parent / "migrations")
SETTINGS = RoutingSettings()


def deadline_scheduler(runtime: ServiceRuntime) -> DeadlineScheduler:
    assert runtime.pool is not None
    return DeadlineScheduler(routing_context(runtime), runtime.pool, SETTINGS.scheduler_interval_s, runtime.registry)


def board_gauges(runtime: ServiceRuntime) -> BoardGauges:
    assert runtime.pool is not None
    return BoardGauges(routing_context(runtime), runtime.pool, SETTINGS.accountability_refresh_s, runtime.registry)


if __name__ == "__main__":
    serve(
        SETTINGS,
        migrations=[OUTBOX_MIGRATIONS, CONSUMER_MIGRATIONS, ROUTING_MIGRATIONS],
        # The rules worker comes first: the other factories read the store it creates.
        workers=[relay_worker, rules_worker, routing_consumer, deadline_scheduler, board_gauges],
        routers=[processing_router, accountability_router],
        title="lienthong routing",
    )
