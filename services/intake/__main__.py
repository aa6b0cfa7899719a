"""`python -m services.intake`: the intake process's composition root."""

from services.intake.settings import IntakeSettings
from shared.outbox import OUTBOX_MIGRATIONS
from shared.service import relay_worker, rules_worker, serve

if __name__ == "__main__":
    serve(
        IntakeSettings(), migrations=[OUTBOX_MIGRATIONS], workers=[relay_worker, rules_worker], title="lienthong intake"
    )
