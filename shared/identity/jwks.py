"""Where a service reads the public staff keys from: `JwksSource`, over a file or an http(s) URL.

The composition root of a service builds one source (`IdentitySettings.jwks_source()`) and hands it to the routes
(`shared.identity.fastapi.use_identity`); nothing is read until the first token arrives. The JWKS is cached and
read again:
- when a token names a kid the cache does not know (the keys were rotated since), at most once per `refresh_s`
  seconds, so a stream of forged kids cannot turn every request into a fetch;
- when the cache is older than `max_age_s`, so that a retired key stops verifying without a restart.
Every read, failed or not, counts for `refresh_s`. A failed reload keeps the keys already known (a JWKS server
outage must not log every staff member out); only a source that could never read them raises `JwksUnavailableError`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import structlog

from shared.identity.keys import Jwks, JwksError
from shared.identity.staff import Staff
from shared.identity.tokens import DEFAULT_ISSUER, UnknownKeyError, verify_token

log = structlog.get_logger(__name__)


class JwksUnavailableError(Exception):
    """The JWKS could not be read (file missing, server down, not a JWKS): no token can be verified."""


class JwksSource:
    """The public staff keys of one JWKS location, cached; see the module's docstring for when it reads them."""

    def __init__(
        self,
        location: str | Path,
        *,
        refresh_s: float = 30.0,
        max_age_s: float = 300.0,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.location = str(location)
        self.refresh_s = refresh_s
        self.max_age_s = max_age_s
        self.timeout_s = timeout_s
        self._clock = clock
        self._jwks: Jwks | None = None
        self._loaded_at = 0.0
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def is_url(self) -> bool:
        return self.location.startswith(("http://", "https://"))

    async def verify(self, token: str, *, issuer: str = DEFAULT_ISSUER) -> Staff:
        """`tokens.verify_token` against the current keys, reloading them once if the token's kid is unknown."""
        try:
            return verify_token(token, await self.current(), issuer=issuer)
        except UnknownKeyError as unknown:
            return verify_token(token, await self.refresh_for(unknown.kid), issuer=issuer)

    async def current(self) -> Jwks:
        """The cached keys; loaded on first use and reloaded once older than `max_age_s`. While a read is in
        flight, callers wait for it under the lock: a burst of first requests must not fail for want of keys that
        are on their way."""
        if self._stale():
            async with self._lock:
                if self._stale() and self._may_read():
                    await self._reload(reason="first use" if self._jwks is None else "max age")
        return self._require_loaded()

    async def refresh_for(self, kid: str) -> Jwks:
        """The keys, read again if they do not list `kid` and the last read is at least `refresh_s` old."""
        async with self._lock:
            # Another request may have reloaded while this one waited for the lock.
            known = self._jwks is not None and kid in self._jwks.keys
            if not known and self._may_read():
                await self._reload(reason="unknown kid", kid=kid)
        return self._require_loaded()

    def _stale(self) -> bool:
        return self._jwks is None or self._clock() - self._loaded_at >= self.max_age_s

    def _may_read(self) -> bool:
        # Every read counts, failed ones too: a JWKS server that is down is not hammered by every request.
        return self._attempted_at is None or self._clock() - self._attempted_at >= self.refresh_s

    async def _reload(self, **why: str) -> None:
        self._attempted_at = self._clock()
        try:
            self._jwks = Jwks.from_document(await self._fetch())
        except JwksError as error:  # e.g. private keys published: an incident, not an outage
            log.error("identity.jwks_refused", location=self.location, error=str(error))
            return
        except (OSError, httpx.HTTPError, ValueError) as error:  # ValueError: not JSON
            log.warning("identity.jwks_unreadable", location=self.location, error=f"{type(error).__name__}: {error}")
            return
        self._loaded_at = self._attempted_at
        log.info("identity.jwks_loaded", location=self.location, kids=sorted(self._jwks.keys), **why)

    async def _fetch(self) -> object:
        if self.is_url:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.get(self.location, headers={"Accept": "application/json"})
                response.raise_for_status()
                return response.json()
        return json.loads(await asyncio.to_thread(Path(self.location).read_bytes))

    def _require_loaded(self) -> Jwks:
        if self._jwks is None:
            raise JwksUnavailableError(f"the staff keys could not be read from {self.location}")
        return self._jwks
