from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from shared.calendar.zone import ZONE
from shared.db import Connection

UNIT_CODE = r"[A-Z0-9]+(?:\.[A-Z0-9]+)*"
DOSSIER_CODE = re.compile(rf"^(?P<unit>{UNIT_CODE})-(?P<day>\d{{6}})-(?P<number>\d{{4,}})$")
# Crockford's base32 without the letters read as digits (I, L, O) or as a word (U): easy to type from paper.
SECRET_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SECRET_LENGTH = 8  # 40 bits: with rate-limited tracking, guessing one is hopeless
MAX_NUMBER = 9999

NEXT_NUMBER = """
INSERT INTO dossier_code_counter (unit_code, day, last_number) VALUES ($1, $2, 1)
ON CONFLICT (unit_code, day) DO UPDATE SET last_number = dossier_code_counter.last_number + 1
RETURNING last_number
"""


@dataclass(frozen=True)
class DossierCode:
    unit_code: str
    day: date
    number: int

    def __str__(self) -> str:
        return f"{self.unit_code}-{self.day:%y%m%d}-{self.number:04d}"


class DossierCodeError(ValueError):
    pass


def parse_dossier_code(text: str) -> DossierCode:
    match = DOSSIER_CODE.match(text.strip().upper())
    if match is None:
        raise DossierCodeError(f"{text!r} is not a dossier code like H21.65-220914-0011")
    try:
        day = datetime.strptime(match.group("day"), "%y%m%d").date()
    except ValueError as error:
        raise DossierCodeError(f"{text!r}: {match.group('day')} is not a date (YYMMDD)") from error
    return DossierCode(match.group("unit"), day, int(match.group("number")))


async def allocate_dossier_code(conn: Connection, unit_code: str, received_at: datetime) -> DossierCode:
    """The next code of the unit for the local (Vietnam) day of `received_at`, inside the caller's transaction.

    Concurrent registrations of one unit and day wait on the counter row in turn; a rolled-back registration
    gives its number back. Numbers run to 9999 a day per unit (four digits, as the Circular prints them)."""
    if not re.fullmatch(UNIT_CODE, unit_code):
        raise DossierCodeError(f"{unit_code!r} is not a unit code (letters, digits and dots, e.g. H21.65)")
    if received_at.tzinfo is None:
        raise DossierCodeError("received_at must be timezone-aware")
    day = received_at.astimezone(ZONE).date()
    number = int(await conn.fetchval(NEXT_NUMBER, unit_code, day))
    if number > MAX_NUMBER:
        raise DossierCodeError(f"unit {unit_code} has used all {MAX_NUMBER} dossier numbers of {day}")
    return DossierCode(unit_code, day, number)


def new_tracking_secret() -> str:
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


def _normalise(secret: str) -> str:
    # What a person types from the slip: any case, with spaces or dashes, O for 0 and I/L for 1.
    cleaned = re.sub(r"[\s-]", "", secret.upper())
    return cleaned.translate(str.maketrans("OIL", "011"))


# The scrypt cost of new hashes (2 MiB of memory, a few milliseconds). The hash only keeps a stolen database from
# yielding secrets for the public tracking view, which shows what that database already holds; tracking is also
# rate-limited. 2**14 (the first cost) made hashing most of intake's CPU per dossier and 16 MiB per concurrent
# call. Each hash names its cost, so the hashes made before verify as ever.
SECRET_HASH_COST = 2**11
FIRST_SECRET_HASH_COST = 2**14  # of the hashes written as `scrypt$<salt>$<hash>`, before the cost was named


def hash_tracking_secret(secret: str) -> str:
    """Stored instead of the secret: scrypt with a random salt, as `scrypt$<cost>$<salt hex>$<hash hex>`."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, SECRET_HASH_COST)
    return f"scrypt${SECRET_HASH_COST}${salt.hex()}${digest.hex()}"


def verify_tracking_secret(secret: str, stored: str) -> bool:
    scheme, *fields = stored.split("$")
    if scheme != "scrypt" or len(fields) not in (2, 3):
        raise ValueError(f"unknown secret hash scheme {scheme!r}")
    cost = int(fields[0]) if len(fields) == 3 else FIRST_SECRET_HASH_COST
    salt_hex, digest_hex = fields[-2:]
    return hmac.compare_digest(_scrypt(secret, bytes.fromhex(salt_hex), cost).hex(), digest_hex)


def _scrypt(secret: str, salt: bytes, cost: int) -> bytes:
    return hashlib.scrypt(_normalise(secret).encode(), salt=salt, n=cost, r=8, p=1)
