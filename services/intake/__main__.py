"""`python -m services.intake`: the intake process's composition root."""

from pathlib import Path

from services.intake.api import desk_router, public_router
from services.intake.consumer import intake_consumer
from services.intake.settings import IntakeSettings
from shared.consumer import CONSUMER_MIGRATIONS
from shared.db import MigrationSource
from shared.dossier_codes import DOSSIER_CODE_MIGRATIONS
from shared.outbox import OUTBOX_MIGRATIONS
from shared.service import relay_worker, rules_worker, serve

INTAKE_MIGRATIONS = MigrationSource("intake", Path(__file__).parent / "migrations")

if __name__ == "__main__":
    serve(
        IntakeSettings(),
        migrations=[OUTBOX_MIGRATIONS, CONSUMER_MIGRATIONS, DOSSIER_CODE_MIGRATIONS, INTAKE_MIGRATIONS],
        workers=[relay_worker, rules_worker, intake_consumer],
        routers=[desk_router, public_router],
        title="lienthong intake",
    )
