"""`python -m services.intake`: the intake process's composition root."""

from services.intake.settings import IntakeSettings
from shared.service import serve

if __name__ == "__main__":
    serve(IntakeSettings(), migrations=[], title="lienthong intake")
