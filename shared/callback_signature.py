"""Signed provider callbacks: the carrier's status webhooks (postal) and the SMS gateways' delivery receipts
(notification). The one place where they are signed (by the simulators, as real providers do) and verified (by the
services).

A provider and we share one secret per provider. Each callback carries two headers:

    X-Lienthong-Timestamp: 1767225600                     when it was sent, in Unix seconds
    X-Lienthong-Signature: sha256=<hex>                   HMAC-SHA256, with the secret, of "<timestamp>.<raw body>"

The receiver recomputes the signature over the very bytes it received, compares the two in constant time, and
refuses a timestamp more than TOLERANCE_S away from its own time: a callback captured and posted again later is
refused. A replay within the window changes nothing, since both endpoints apply each status event or receipt once.

The timestamps are the machines' real time, not the shared clock of shared/clock.py: a test stack moves that clock
to make dossiers late, which must not make every callback stale.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx
import structlog
from fastapi import HTTPException, Request, status
from pydantic import SecretStr

from shared.identity.fastapi import REALM

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Lienthong-Signature"
TIMESTAMP_HEADER = "X-Lienthong-Timestamp"
SCHEME = "sha256="
TOLERANCE_S = 300


class SignatureRefusedError(ValueError):
    """A callback whose signature is missing, wrong or too old; says which."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The headers that sign `body`, sent now (or at `now`, in Unix seconds)."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None) -> None:
    """Raises SignatureRefusedError unless `headers` sign `body` with `secret`, within TOLERANCE_S of `now`."""
    sent_at, signed = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    if not sent_at or not signed:
        raise SignatureRefusedError(f"unsigned: send the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers")
    try:
        timestamp = int(sent_at)
    except ValueError:
        raise SignatureRefusedError(f"{TIMESTAMP_HEADER} must be Unix seconds, not {sent_at[:20]!r}") from None
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_S:
        raise SignatureRefusedError(f"{TIMESTAMP_HEADER} is more than {TOLERANCE_S} s away from our time")
    if not hmac.compare_digest(signed.encode(), signature(secret, timestamp, body).encode()):
        raise SignatureRefusedError(f"{SIGNATURE_HEADER} does not match the body and timestamp")


async def verified_body(request: Request, secret: SecretStr | None, setting: str) -> bytes:
    """The raw body of a signed callback; a 401 saying why when it is not signed with `secret` (the value of the
    variable named `setting`), and when no secret is configured at all: unsigned callbacks are never accepted."""
    body = await request.body()
    try:
        if secret is None:
            raise SignatureRefusedError(f"callbacks are refused until {setting} is configured here")
        verify(secret.get_secret_value(), body, request.headers)
    except SignatureRefusedError as refusal:
        log.warning("callback.refused", path=request.url.path, reason=str(refusal))
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"this callback takes a signature, not a token: {refusal}",
            headers={"WWW-Authenticate": f'HMAC-SHA256 realm="{REALM}"'},
        ) from refusal
    return body


async def post_signed(http: httpx.AsyncClient, url: str, payload: Any, secret: str) -> httpx.Response:
    """POSTs `payload` as JSON, signed: what a provider's callback does."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **signed_headers(secret, body)}
    return await http.post(url, content=body, headers=headers)
