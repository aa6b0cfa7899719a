"""The signing keys of staff tokens: their public JWK form, and the key folder of the issuing side.

A key folder holds one private key per kid (`<kid>.pem`, PKCS#8, mode 0600), `jwks.json` listing the public key of
every key that is not retired, and `signing-kid` naming the key new tokens are signed with. Rotation adds a key
and makes it the signing key; the older public keys stay in `jwks.json`, so the tokens they signed keep verifying
until an operator retires them. Services never see this folder: they read `jwks.json` (or a copy served over
HTTP) through `shared.identity.jwks.JwksSource`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"
JWKS_FILE = "jwks.json"
SIGNING_FILE = "signing-kid"
KID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class JwksError(ValueError):
    """A JWKS document that cannot be used: not JSON of the expected shape, or carrying private material."""


class KeyFolderError(Exception):
    """A key folder operation that cannot be done; the message tells the operator what to do instead."""


@dataclass(frozen=True)
class Jwks:
    """The public keys staff tokens may be signed with, by kid (only Ed25519 keys: the only kind we issue)."""

    keys: Mapping[str, Ed25519PublicKey]

    @classmethod
    def from_document(cls, document: object) -> Jwks:
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise JwksError('a JWKS is a JSON object with a "keys" list')
        keys: dict[str, Ed25519PublicKey] = {}
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
                continue  # RFC 7517 §5: ignore keys of a kind we do not use
            kid = entry.get("kid")
            if not isinstance(kid, str) or not kid:
                raise JwksError("a key of the JWKS has no kid")
            if "d" in entry:
                # A published private key is an incident, not a configuration detail: refuse to run with it.
                raise JwksError(f"key {kid} of the JWKS carries private material; publish public keys only")
            try:
                keys[kid] = Ed25519PublicKey.from_public_bytes(_unb64(str(entry["x"])))
            except (KeyError, ValueError) as error:
                raise JwksError(f"key {kid} of the JWKS is not an Ed25519 public key: {error}") from error
        return cls(keys)

    def document(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [public_jwk(kid, key) for kid, key in self.keys.items()]}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    signing: bool
    has_private_key: bool


def public_jwk(kid: str, key: Ed25519PublicKey) -> dict[str, str]:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "kid": kid, "use": "sig", "alg": ALGORITHM}


def new_kid(now: datetime | None = None) -> str:
    """Date first, so that an operator sees a key's age; a random suffix, so that two keys never share a kid."""
    return f"{(now or datetime.now(UTC)):%Y%m%d}-{secrets.token_hex(4)}"


def read_jwks(folder: Path) -> Jwks:
    path = folder / JWKS_FILE
    if not path.exists():
        return Jwks({})
    try:
        return Jwks.from_document(json.loads(path.read_bytes()))
    except ValueError as error:
        raise KeyFolderError(f"{path} is not a usable JWKS: {error}") from error


def rotate_key(folder: Path) -> str:
    """Add a new key pair and make it the signing key (the first key of a new folder too); returns its kid."""
    folder.mkdir(parents=True, exist_ok=True)
    kid = new_kid()
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Order matters for a crash half-way: the public key is published before anything signs with it.
    _write(folder / f"{kid}.pem", pem, mode=0o600)
    _write_jwks(folder, {**read_jwks(folder).keys, kid: private_key.public_key()})
    _write(folder / SIGNING_FILE, f"{kid}\n".encode(), mode=0o644)
    return kid


def retire_key(folder: Path, kid: str) -> None:
    """Remove a key that no longer signs: its public key leaves the JWKS (its tokens stop verifying once the
    services reload it) and its private key is deleted."""
    if not KID.fullmatch(kid):  # it names a file: no path of the operator's typing goes outside the folder
        raise KeyFolderError(f"{kid!r} is not a kid (see `lienthong staff keys list`)")
    if kid == _signing_kid(folder):
        raise KeyFolderError(f"{kid} is the signing key; rotate first, then retire it")
    keys = dict(read_jwks(folder).keys)
    pem = folder / f"{kid}.pem"
    if kid not in keys and not pem.exists():
        raise KeyFolderError(f"no key {kid} in {folder}")
    keys.pop(kid, None)
    _write_jwks(folder, keys)
    pem.unlink(missing_ok=True)


def list_keys(folder: Path) -> list[KeyInfo]:
    signing = _signing_kid(folder)
    return [KeyInfo(kid, kid == signing, (folder / f"{kid}.pem").exists()) for kid in read_jwks(folder).keys]


def signing_key(folder: Path) -> SigningKey | None:
    """The key new tokens are signed with, or None in a folder without keys."""
    kid = _signing_kid(folder)
    if kid is None:
        return None
    if kid not in read_jwks(folder).keys:
        raise KeyFolderError(f"signing key {kid} is not in {folder / JWKS_FILE}; its tokens would not verify")
    pem = folder / f"{kid}.pem"
    if not pem.exists():
        raise KeyFolderError(f"the private key of signing key {kid} is missing ({pem}); rotate to a new key")
    private_key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    if not isinstance(private_key, Ed25519PrivateKey):
        raise KeyFolderError(f"{pem} is not an Ed25519 private key")
    return SigningKey(kid, private_key)


def ensure_signing_key(folder: Path) -> tuple[SigningKey, bool]:
    """The signing key, created with the folder when there is none; the flag tells whether it was created."""
    key = signing_key(folder)
    if key is not None:
        return key, False
    rotate_key(folder)
    created = signing_key(folder)
    if created is None:
        raise KeyFolderError(f"{folder} has no signing key after creating one")
    return created, True


def _signing_kid(folder: Path) -> str | None:
    path = folder / SIGNING_FILE
    if not path.exists():
        return None
    return path.read_text().strip() or None


def _write_jwks(folder: Path, keys: Mapping[str, Ed25519PublicKey]) -> None:
    _write(folder / JWKS_FILE, json.dumps(Jwks(keys).document(), indent=2).encode() + b"\n", mode=0o644)


def _write(path: Path, data: bytes, *, mode: int) -> None:
    """Write through a temporary file renamed into place: a service reading `jwks.json` meanwhile sees the old
    file or the new one, never half of one; created with its final mode, so a private key is never readable by
    others, not even for an instant."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as file:
            os.fchmod(file.fileno(), mode)  # the umask may have narrowed it; we want exactly this mode
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
