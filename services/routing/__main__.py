"""`python -m services.routing`: the routing process's composition root."""

from services.routing.settings import RoutingSettings
from shared.outbox import OUTBOX_MIGRATIONS
from shared.service import relay_worker, rules_worker, serve

if __name__ == "__main__":
    serve(
        RoutingSettings(),
        migrations=[OUTBOX_MIGRATIONS],
        workers=[relay_worker, rules_worker],
        title="lienthong routing",
    )
