"""`python -m services.routing`: the routing process's composition root."""

from pathlib import Path

from services.routing.consumer import routing_consumer
from services.routing.settings import RoutingSettings
from shared.consumer import CONSUMER_MIGRATIONS
from shared.db import MigrationSource
from shared.outbox import OUTBOX_MIGRATIONS
from shared.service import relay_worker, rules_worker, serve

ROUTING_MIGRATIONS = MigrationSource("routing", Path(__file__).parent / "migrations")

if __name__ == "__main__":
    serve(
        RoutingSettings(),
        migrations=[OUTBOX_MIGRATIONS, CONSUMER_MIGRATIONS, ROUTING_MIGRATIONS],
        # The rules worker comes first: the consumer factory reads the store it creates.
        workers=[relay_worker, rules_worker, routing_consumer],
        title="lienthong routing",
    )
