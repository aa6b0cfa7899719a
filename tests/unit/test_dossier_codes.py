import hashlib
import re
from datetime import date

import pytest

from shared.dossier_codes import (
    DossierCode,
    hash_tracking_secret,
    new_tracking_secret,
    parse_dossier_code,
    verify_tracking_secret,
)
from shared.dossier_codes.codes import SECRET_ALPHABET, SECRET_HASH_COST, DossierCodeError


def test_a_real_code_parses_and_prints_back() -> None:
    code = parse_dossier_code("H21.65-220914-0011")
    assert code == DossierCode("H21.65", date(2022, 9, 14), 11)
    assert str(code) == "H21.65-220914-0011"


@pytest.mark.parametrize("text", ["H21.65-2209140011", "H21.65-221314-0011", "-220914-0011", "H21.65-220914-11"])
def test_malformed_codes_are_refused_with_the_text_named(text: str) -> None:
    with pytest.raises(DossierCodeError, match=re.escape(repr(text))):
        parse_dossier_code(text)


def test_tracking_secrets_are_typable_and_stored_only_as_a_hash() -> None:
    secret = new_tracking_secret()
    assert len(secret) == 8
    assert set(secret) <= set(SECRET_ALPHABET)
    stored = hash_tracking_secret(secret)
    assert secret not in stored
    assert verify_tracking_secret(secret, stored)
    assert verify_tracking_secret(f"{secret[:4].lower()}-{secret[4:]}", stored)
    assert not verify_tracking_secret("00000000" if secret != "00000000" else "11111111", stored)


def test_hashes_of_the_first_cost_still_verify() -> None:
    """Hashes written before the cost was named in them (scrypt with n = 2**14) keep opening tracking."""
    salt = bytes(range(16))
    digest = hashlib.scrypt(b"7K3M9Q2X", salt=salt, n=2**14, r=8, p=1)
    first = f"scrypt${salt.hex()}${digest.hex()}"
    assert verify_tracking_secret("7k3m-9q2x", first)
    assert not verify_tracking_secret("7K3M9Q2Y", first)
    assert hash_tracking_secret("7K3M9Q2X").startswith(f"scrypt${SECRET_HASH_COST}$")
