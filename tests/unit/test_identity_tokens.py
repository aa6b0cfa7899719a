"""Staff tokens: issued with the key folder's signing key, verified against its JWKS, through rotation and
retirement. Real Ed25519 keys in a temporary key folder; nothing of the cryptography is faked."""

from __future__ import annotations

import asyncio
import base64
import json
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from shared.identity.jwks import JwksSource, JwksUnavailableError
from shared.identity.keys import (
    JWKS_FILE,
    Jwks,
    JwksError,
    KeyFolderError,
    SigningKey,
    ensure_signing_key,
    list_keys,
    read_jwks,
    retire_key,
    rotate_key,
    signing_key,
)
from shared.identity.staff import Staff
from shared.identity.tokens import (
    InvalidTokenError,
    TokenExpiredError,
    UnknownKeyError,
    issue_token,
    token_kid,
    verify_token,
)
from tests.support.cli import lienthong as run_lienthong

RECEPTION = Staff(staff_id="nv-0042", agency="H21.65", role="reception")
HOUR = timedelta(hours=1)


def signer(folder: Path) -> SigningKey:
    return ensure_signing_key(folder)[0]


def b64_json(segment: str) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return decoded


def to_b64_json(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_verifies_to_the_staff_member_it_was_issued_for(tmp_path: Path) -> None:
    token = issue_token(signer(tmp_path), RECEPTION, lifetime=HOUR)
    assert verify_token(token, read_jwks(tmp_path)) == RECEPTION
    demo = Staff(staff_id="demo-head", agency="H21.65", role="head", demo=True)
    claims = b64_json(issue_token(signer(tmp_path), demo, lifetime=HOUR).split(".")[1])
    assert claims["demo"] is True
    assert set(claims) == {"sub", "agency", "role", "iss", "iat", "exp", "demo"}
    assert verify_token(issue_token(signer(tmp_path), demo, lifetime=HOUR), read_jwks(tmp_path)) == demo


def test_an_expired_token_is_refused(tmp_path: Path) -> None:
    two_hours_ago = datetime.now(UTC) - 2 * HOUR
    token = issue_token(signer(tmp_path), RECEPTION, lifetime=HOUR, now=two_hours_ago)
    with pytest.raises(TokenExpiredError, match="expired"):
        verify_token(token, read_jwks(tmp_path))


def test_a_token_of_another_issuer_is_refused(tmp_path: Path) -> None:
    token = issue_token(signer(tmp_path), RECEPTION, lifetime=HOUR, issuer="someone-else")
    with pytest.raises(InvalidTokenError, match="not issued by lienthong"):
        verify_token(token, read_jwks(tmp_path))


def test_a_token_signed_by_a_key_outside_the_jwks_is_refused(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    signer(ours)
    token = issue_token(signer(theirs), RECEPTION, lifetime=HOUR)
    with pytest.raises(UnknownKeyError) as refused:
        verify_token(token, read_jwks(ours))
    assert refused.value.kid == token_kid(token)


def test_a_token_claiming_one_of_our_kids_but_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    ours = signer(tmp_path / "ours")
    impostor = SigningKey(ours.kid, signer(tmp_path / "theirs").private_key)
    with pytest.raises(InvalidTokenError, match="signature"):
        verify_token(issue_token(impostor, RECEPTION, lifetime=HOUR), read_jwks(tmp_path / "ours"))


def test_a_tampered_payload_is_refused(tmp_path: Path) -> None:
    header, payload, signature = issue_token(signer(tmp_path), RECEPTION, lifetime=HOUR).split(".")
    promoted = {**b64_json(payload), "role": "admin"}
    with pytest.raises(InvalidTokenError, match="signature"):
        verify_token(f"{header}.{to_b64_json(promoted)}.{signature}", read_jwks(tmp_path))


def test_a_signed_token_with_an_unknown_role_or_without_an_agency_is_refused(tmp_path: Path) -> None:
    key = signer(tmp_path)
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, object] = {"sub": "x", "agency": "H21.65", "iss": "lienthong", "iat": now, "exp": now + 60}
    boss = jwt.encode({**claims, "role": "boss"}, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})
    with pytest.raises(InvalidTokenError, match="role 'boss' is not one of reception, processing, head, admin"):
        verify_token(boss, read_jwks(tmp_path))
    claims.pop("agency")
    nowhere = jwt.encode({**claims, "role": "head"}, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})
    with pytest.raises(InvalidTokenError, match="no agency claim"):
        verify_token(nowhere, read_jwks(tmp_path))


def test_tokens_of_another_algorithm_or_without_a_kid_are_refused(tmp_path: Path) -> None:
    key = signer(tmp_path)
    public_x = read_jwks(tmp_path).document()["keys"][0]["x"]
    # The classic confusion: an HMAC token keyed with the public key, which anyone has.
    hmac = jwt.encode({"sub": "x"}, public_x, algorithm="HS256", headers={"kid": key.kid})
    with pytest.raises(InvalidTokenError, match="must be signed with EdDSA"):
        verify_token(hmac, read_jwks(tmp_path))
    no_kid = jwt.encode({"sub": "x"}, key.private_key, algorithm="EdDSA")
    with pytest.raises(InvalidTokenError, match="no kid"):
        verify_token(no_kid, read_jwks(tmp_path))
    with pytest.raises(InvalidTokenError, match="not a JWT"):
        verify_token("garbage", read_jwks(tmp_path))


def test_after_a_rotation_old_tokens_still_verify_and_new_ones_carry_the_new_kid(tmp_path: Path) -> None:
    old = signer(tmp_path)
    old_token = issue_token(old, RECEPTION, lifetime=HOUR)
    new_kid = rotate_key(tmp_path)
    new_token = issue_token(signer(tmp_path), RECEPTION, lifetime=HOUR)
    assert new_kid != old.kid
    assert token_kid(new_token) == new_kid
    jwks = read_jwks(tmp_path)
    assert list(jwks.keys) == [old.kid, new_kid]
    assert verify_token(old_token, jwks) == verify_token(new_token, jwks) == RECEPTION
    assert [(info.kid, info.signing) for info in list_keys(tmp_path)] == [(old.kid, False), (new_kid, True)]


def test_a_retired_key_no_longer_verifies_and_the_signing_key_cannot_be_retired(tmp_path: Path) -> None:
    old = signer(tmp_path)
    old_token = issue_token(old, RECEPTION, lifetime=HOUR)
    new_kid = rotate_key(tmp_path)
    with pytest.raises(KeyFolderError, match="rotate first"):
        retire_key(tmp_path, new_kid)
    retire_key(tmp_path, old.kid)
    with pytest.raises(UnknownKeyError):
        verify_token(old_token, read_jwks(tmp_path))
    assert not (tmp_path / f"{old.kid}.pem").exists()
    assert [info.kid for info in list_keys(tmp_path)] == [new_kid]
    with pytest.raises(KeyFolderError, match="no key"):
        retire_key(tmp_path, old.kid)
    with pytest.raises(KeyFolderError, match="not a kid"):
        retire_key(tmp_path, f"../{tmp_path.name}/{new_kid}")


def test_private_keys_are_readable_by_their_owner_only_and_never_published(tmp_path: Path) -> None:
    folder = tmp_path / "identity"
    first = signer(folder)
    second = rotate_key(folder)
    for kid in (first.kid, second):
        assert stat.S_IMODE((folder / f"{kid}.pem").stat().st_mode) == 0o600
    document = json.loads((folder / JWKS_FILE).read_text())
    assert [entry["kid"] for entry in document["keys"]] == [first.kid, second]
    for entry in document["keys"]:
        assert "d" not in entry
        assert entry["kty"] == "OKP"
        assert entry["crv"] == "Ed25519"
        assert entry["alg"] == "EdDSA"
    assert not list(folder.glob(".*.tmp"))
    current = signing_key(folder)
    assert current is not None
    assert current.kid == second


def test_a_jwks_carrying_private_material_is_refused() -> None:
    entry = {"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "d": "AAAA", "kid": "k1"}
    with pytest.raises(JwksError, match="private material"):
        Jwks.from_document({"keys": [entry]})
    with pytest.raises(JwksError, match='"keys" list'):
        Jwks.from_document(["not", "a", "jwks"])
    rsa = {"kty": "RSA", "kid": "other", "n": "AQAB", "e": "AQAB"}
    assert Jwks.from_document({"keys": [rsa]}).keys == {}


def test_staff_act_for_their_own_agency_and_admins_for_every_agency() -> None:
    assert RECEPTION.may_act_for("H21.65")
    assert not RECEPTION.may_act_for("H21.66")
    assert Staff(staff_id="root", agency="H21", role="admin").may_act_for("H21.66")
    with pytest.raises(ValueError, match="role"):
        Staff(staff_id="x", agency="H21.65", role="boss")  # type: ignore[arg-type]


async def test_a_source_reads_again_on_an_unknown_kid_at_most_once_per_refresh_interval(tmp_path: Path) -> None:
    clock = Clock()
    source = JwksSource(tmp_path / JWKS_FILE, refresh_s=30, max_age_s=3600, clock=clock)
    assert await source.verify(issue_token(signer(tmp_path), RECEPTION, lifetime=HOUR)) == RECEPTION
    rotate_key(tmp_path)
    new_token = issue_token(signer(tmp_path), RECEPTION, lifetime=HOUR)
    clock.now += 10
    with pytest.raises(UnknownKeyError):
        await source.verify(new_token)
    clock.now += 20
    assert await source.verify(new_token) == RECEPTION


async def test_a_source_drops_a_retired_key_once_its_copy_is_older_than_the_max_age(tmp_path: Path) -> None:
    clock = Clock()
    source = JwksSource(tmp_path / JWKS_FILE, refresh_s=30, max_age_s=300, clock=clock)
    old = signer(tmp_path)
    old_token = issue_token(old, RECEPTION, lifetime=HOUR)
    assert await source.verify(old_token) == RECEPTION
    rotate_key(tmp_path)
    retire_key(tmp_path, old.kid)
    clock.now += 299
    assert await source.verify(old_token) == RECEPTION
    clock.now += 1
    with pytest.raises(UnknownKeyError):
        await source.verify(old_token)


async def test_a_burst_of_first_requests_all_wait_for_the_one_read_of_the_keys(tmp_path: Path) -> None:
    source = JwksSource(tmp_path / JWKS_FILE, refresh_s=30, max_age_s=300, clock=Clock())
    token = issue_token(signer(tmp_path), RECEPTION, lifetime=HOUR)
    assert await asyncio.gather(*(source.verify(token) for _ in range(20))) == [RECEPTION] * 20


async def test_a_source_keeps_the_keys_it_has_when_the_jwks_becomes_unreadable(tmp_path: Path) -> None:
    clock = Clock()
    missing = JwksSource(tmp_path / "nowhere.json", clock=clock)
    token = issue_token(signer(tmp_path), RECEPTION, lifetime=HOUR)
    with pytest.raises(JwksUnavailableError, match=r"nowhere\.json"):
        await missing.verify(token)
    source = JwksSource(tmp_path / JWKS_FILE, refresh_s=30, max_age_s=300, clock=clock)
    assert await source.verify(token) == RECEPTION
    (tmp_path / JWKS_FILE).write_text("{ not json")
    clock.now += 1000
    assert await source.verify(token) == RECEPTION


def lienthong(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_lienthong(home, *args, env={"IDENTITY_KEYS_DIR": str(home / "keys")})


def test_the_staff_command_issues_tokens_and_manages_keys(tmp_path: Path) -> None:
    issued = lienthong(tmp_path, "staff", "token", "--agency", "H21.65", "--role", "head", "--days", "2", "--demo")
    assert issued.returncode == 0, issued.stderr
    assert "created signing key" in issued.stderr
    token = issued.stdout.strip()
    assert verify_token(token, read_jwks(tmp_path / "keys")) == Staff("head@H21.65", "H21.65", "head", demo=True)
    claims = b64_json(token.split(".")[1])
    assert claims["exp"] == claims["iat"] + 2 * 86400  # type: ignore[operator]
    new_kid = lienthong(tmp_path, "staff", "keys", "rotate").stdout.strip()
    listed = lienthong(tmp_path, "staff", "keys", "list").stdout.splitlines()
    assert listed == [f"{token_kid(token):<20} verifying", f"{new_kid:<20} signing"]
    assert lienthong(tmp_path, "staff", "keys", "retire", token_kid(token)).returncode == 0
    with pytest.raises(UnknownKeyError):
        verify_token(token, read_jwks(tmp_path / "keys"))
