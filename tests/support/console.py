"""The web console under test over HTTP: a staff member's session (logged in as the browser does, from the console's
own origin) and its live stream read as server-sent events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.stack import StackCommand, demo_token


def staff_token(stack: StackCommand, agency: str | None, role: str) -> str:
    """The raw demo token of that agency (any, for None) and role, as staff paste it on the login page."""
    return demo_token(stack, agency, role)["Authorization"].removeprefix("Bearer ")


@contextlib.asynccontextmanager
async def console_session(base: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the session cookie of `token`; its requests carry the console's own Origin, as its pages'."""
    async with httpx.AsyncClient(base_url=base, timeout=30, headers={"Origin": base}) as client:
        answer = await client.post("/console/login", data={"token": token})
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith("/console/events")
        yield client


@dataclass
class FollowedStream:
    """What one session's live stream delivered: each line's data, in order."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    live: asyncio.Event = field(default_factory=asyncio.Event)

    def codes(self) -> set[str]:
        return {line["code"] for line in self.lines if line.get("code")}

    def types_of(self, code: str) -> list[str]:
        return [line["type"] for line in self.lines if line.get("code") == code]


@contextlib.asynccontextmanager
async def following(client: httpx.AsyncClient, **params: str) -> AsyncIterator[FollowedStream]:
    """The session's live stream, read in the background from the moment the console follows the topics."""
    stream = FollowedStream()

    async def read() -> None:
        async with client.stream("GET", "/console/events/stream", params=params, timeout=None) as answer:
            assert answer.status_code == 200, await answer.aread()
            event = ""
            async for text in answer.aiter_lines():
                if text.startswith("event: "):
                    event = text.removeprefix("event: ")
                elif text.startswith("data: "):
                    data = json.loads(text.removeprefix("data: "))
                    if event == "status" and data["following"]:
                        stream.live.set()
                    elif event == "line":
                        stream.lines.append(data)

    reader = asyncio.create_task(read())
    try:
        async with asyncio.timeout(30):
            while not stream.live.is_set():
                if reader.done():
                    reader.result()  # refused: says why
                    raise AssertionError("the live stream ended before it followed the topics")
                await asyncio.sleep(0.05)
        yield stream
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
