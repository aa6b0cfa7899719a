"""A fixed-window limit per client address for the anonymous endpoints (online submission, tracking): enough to
make enumerating codes and secrets pointless. Per process: behind several replicas the edge should limit too."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import HTTPException, Request, status


class FixedWindowLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._windows: dict[str, tuple[int, int]] = {}

    def allow(self, client: str) -> bool:
        window = int(self.clock() // 60)
        started, count = self._windows.get(client, (window, 0))
        if started != window:
            started, count = window, 0
        if len(self._windows) > 100_000:  # old windows of one-off clients: drop them rather than grow forever
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        self._windows[client] = (started, count + 1)
        return count < self.per_minute


def rate_limited(request: Request) -> None:
    limiter: FixedWindowLimiter = request.app.state.public_limiter
    client = request.client.host if request.client else "unknown"
    if not limiter.allow(client):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, "too many requests: try again in a minute", headers={"Retry-After": "60"}
        )
