"""Staff tokens: issue one signed by the current signing key, verify one against a JWKS.

A token is a JWT signed with Ed25519 (alg EdDSA) whose header names its key (`kid`). Claims: `sub` (staff id),
`agency`, `role`, `iss`, `iat`, `exp`, and `demo: true` on demo tokens. Verification trusts nothing in the token
before its signature is checked, except the kid that selects the key; the algorithm is fixed, never the token's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from shared.identity.keys import ALGORITHM, Jwks, SigningKey
from shared.identity.staff import Staff

DEFAULT_ISSUER = "lienthong"
# Services and the issuing host do not share a clock to the second: tolerated when checking `exp` and `iat`.
CLOCK_SKEW_S = 30
# Ours are 17 characters; the bound keeps whatever an attacker sends out of the logs and error messages.
MAX_KID_LENGTH = 64
REQUIRED_CLAIMS = ["sub", "agency", "role", "iss", "iat", "exp"]


class TokenError(Exception):
    """A token that does not identify a staff member. The message says why and is safe to show the client."""


class TokenExpiredError(TokenError):
    pass


class UnknownKeyError(TokenError):
    """Signed by a key the JWKS does not list (yet: a reloaded JWKS may know it, or no longer)."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"the token is signed by key {kid}, which is not a current staff key")
        self.kid = kid


class InvalidTokenError(TokenError):
    pass


def issue_token(
    key: SigningKey,
    staff: Staff,
    *,
    lifetime: timedelta,
    issuer: str = DEFAULT_ISSUER,
    now: datetime | None = None,
) -> str:
    if lifetime <= timedelta(0):
        raise ValueError("a token's lifetime must be positive")
    issued_at = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": staff.staff_id,
        "agency": staff.agency,
        "role": staff.role,
        "iss": issuer,
        "iat": int(issued_at.timestamp()),
        "exp": int((issued_at + lifetime).timestamp()),
    }
    if staff.demo:
        claims["demo"] = True
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


def token_kid(token: str) -> str:
    """The kid of a token's header, unverified: only ever used to pick the key that verifies it."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise InvalidTokenError(f"not a JWT: {error}") from error
    if header.get("alg") != ALGORITHM:
        raise InvalidTokenError(f"the token must be signed with {ALGORITHM}, not {header.get('alg')}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise InvalidTokenError("the token header has no kid, or not a kid of ours")
    return kid


def verify_token(token: str, jwks: Jwks, *, issuer: str = DEFAULT_ISSUER, leeway_s: float = CLOCK_SKEW_S) -> Staff:
    """The staff member a token identifies; raises `TokenExpiredError`, `UnknownKeyError` or `InvalidTokenError`."""
    kid = token_kid(token)
    key = jwks.keys.get(kid)
    if key is None:
        raise UnknownKeyError(kid)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            leeway=leeway_s,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as error:
        raise TokenExpiredError("the token has expired") from error
    except jwt.InvalidSignatureError as error:
        raise InvalidTokenError(f"the token's signature does not match key {kid}") from error
    except jwt.InvalidIssuerError as error:
        raise InvalidTokenError(f"the token was not issued by {issuer}") from error
    except jwt.MissingRequiredClaimError as error:
        raise InvalidTokenError(f"the token has no {error.claim} claim") from error
    except jwt.InvalidTokenError as error:
        raise InvalidTokenError(f"invalid token: {error}") from error
    return staff_from_claims(claims)


def staff_from_claims(claims: dict[str, Any]) -> Staff:
    demo = claims.get("demo", False)
    if not isinstance(demo, bool):
        raise InvalidTokenError("the demo claim must be true or false")
    for name in ("sub", "agency", "role"):
        if not isinstance(claims[name], str):
            raise InvalidTokenError(f"the {name} claim must be a string")
    try:
        return Staff(staff_id=claims["sub"], agency=claims["agency"], role=claims["role"], demo=demo)
    except ValueError as error:
        raise InvalidTokenError(f"the token's claims are not a staff identity: {error}") from error
