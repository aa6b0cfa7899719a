"""Dossier codes (mã hồ sơ, `<unit code>-<YYMMDD>-<NNNN>`) and the tracking secret printed on the slip."""

from pathlib import Path

from shared.db import MigrationSource
from shared.dossier_codes.codes import (
    DossierCode,
    allocate_dossier_code,
    hash_tracking_secret,
    new_tracking_secret,
    parse_dossier_code,
    verify_tracking_secret,
)

DOSSIER_CODE_MIGRATIONS = MigrationSource("dossier_codes", Path(__file__).parent / "migrations")

__all__ = [
    "DOSSIER_CODE_MIGRATIONS",
    "DossierCode",
    "allocate_dossier_code",
    "hash_tracking_secret",
    "new_tracking_secret",
    "parse_dossier_code",
    "verify_tracking_secret",
]
