"""The one way a background loop survives the broker or the database going away."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import structlog

log = structlog.get_logger(__name__)


async def keep_running(
    connect_and_run: Callable[[], Awaitable[None]],
    *,
    event: str,
    errors: tuple[type[Exception], ...],
    first_delay_s: float = 0.5,
    max_delay_s: float = 10.0,
    **fields: Any,
) -> NoReturn:
    """Run `connect_and_run` again after each failure in `errors`, waiting longer each time (doubling up to
    `max_delay_s`); cancellation stops it. Anything else is a bug and propagates."""
    delay = first_delay_s
    while True:
        try:
            await connect_and_run()
            delay = first_delay_s
        except errors as error:
            log.warning(event, error=f"{type(error).__name__}: {error}", retry_in_s=delay, **fields)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay_s)
