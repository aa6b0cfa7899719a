"""`python -m services.postal`: the postal process's composition root."""

from services.postal.settings import PostalSettings
from shared.outbox import OUTBOX_MIGRATIONS
from shared.service import relay_worker, serve

if __name__ == "__main__":
    serve(PostalSettings(), migrations=[OUTBOX_MIGRATIONS], workers=[relay_worker], title="lienthong postal")
