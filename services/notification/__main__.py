"""`python -m services.notification`: the notification process's composition root."""

from pathlib import Path

from services.notification.api import context, receipts_router, surveys_router, templates_router
from services.notification.consumer import notification_consumer
from services.notification.sender import SenderWorker
from services.notification.settings import NotificationSettings
from shared.consumer import CONSUMER_MIGRATIONS
from shared.consumer.runner import ConsumerRunner
from shared.contacts import CONTACTS_MIGRATIONS
from shared.db import MigrationSource
from shared.outbox import OUTBOX_MIGRATIONS
from shared.service import ServiceRuntime, relay_worker, serve

NOTIFICATION_MIGRATIONS = MigrationSource("notification", Path(__file__).parent / "migrations")
SETTINGS = NotificationSettings()


def consumer(runtime: ServiceRuntime) -> ConsumerRunner:
    return notification_consumer(runtime, context(SETTINGS, runtime))


def sender(runtime: ServiceRuntime) -> SenderWorker:
    assert runtime.pool is not None  # workers are built once the database is reachable
    return SenderWorker(context(SETTINGS, runtime), runtime.pool, SETTINGS, runtime.registry)


if __name__ == "__main__":
    serve(
        SETTINGS,
        migrations=[OUTBOX_MIGRATIONS, CONSUMER_MIGRATIONS, CONTACTS_MIGRATIONS, NOTIFICATION_MIGRATIONS],
        workers=[relay_worker, consumer, sender],
        routers=[receipts_router, surveys_router, templates_router],
        title="lienthong notification",
    )
