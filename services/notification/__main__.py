"""`python -m services.notification`: the notification process's composition root."""

from services.notification.settings import NotificationSettings
from shared.outbox import OUTBOX_MIGRATIONS
from shared.service import relay_worker, serve

if __name__ == "__main__":
    serve(
        NotificationSettings(), migrations=[OUTBOX_MIGRATIONS], workers=[relay_worker], title="lienthong notification"
    )
