"""`python -m services.postal`: the postal process's composition root."""

from dataclasses import dataclass
from pathlib import Path

import asyncpg
from prometheus_client import CollectorRegistry

from services.postal.api import carrier_router, postal_context, shipments_router
from services.postal.carrier import CarrierMetrics
from services.postal.carrier.vnpost import vnpost_client
from services.postal.consumer import postal_consumer
from services.postal.handlers import PostalContext
from services.postal.orders import OrderPlacer
from services.postal.settings import PostalSettings
from shared.consumer import CONSUMER_MIGRATIONS
from shared.consumer.runner import ConsumerRunner
from shared.contacts import CONTACTS_MIGRATIONS
from shared.db import MigrationSource
from shared.outbox import OUTBOX_MIGRATIONS
from shared.service import ServiceRuntime, relay_worker, rules_worker, serve

POSTAL_MIGRATIONS = MigrationSource("postal", Path(__file__).parent / "migrations")
SETTINGS = PostalSettings()


@dataclass
class PlacerWorker:
    """The order placer with its carrier client, which lives as long as it runs."""

    ctx: PostalContext
    pool: asyncpg.Pool
    registry: CollectorRegistry

    async def run(self) -> None:
        await self.ctx.rules.loaded.wait()  # the desks' names go into the orders
        async with vnpost_client(SETTINGS, CarrierMetrics(self.registry)) as carrier:
            await OrderPlacer(self.ctx, self.pool, carrier, SETTINGS, self.registry).run()


def consumer(runtime: ServiceRuntime) -> ConsumerRunner:
    return postal_consumer(runtime, postal_context(runtime))


def placer(runtime: ServiceRuntime) -> PlacerWorker:
    assert runtime.pool is not None  # workers are built once the database is reachable
    return PlacerWorker(postal_context(runtime), runtime.pool, runtime.registry)


if __name__ == "__main__":
    serve(
        SETTINGS,
        migrations=[OUTBOX_MIGRATIONS, CONSUMER_MIGRATIONS, CONTACTS_MIGRATIONS, POSTAL_MIGRATIONS],
        # The rules worker comes first: the other factories read the store it creates.
        workers=[relay_worker, rules_worker, consumer, placer],
        routers=[carrier_router, shipments_router],
        title="lienthong postal",
    )
