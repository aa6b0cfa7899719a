"""The console's calls to the four services, always with the staff member's own token: each service decides what the
staff member may see or do (agency scope, admin-only endpoints), so the console never shows or does more than the
services' APIs allow that token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Answer:
    """A service's answer: its status and JSON body, or status 0 and what went wrong when it did not answer."""

    service: str
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def answered(self) -> bool:
        return self.status != 0

    @property
    def detail(self) -> str:
        """What the service said went wrong (its `detail`), or why it did not answer."""
        if isinstance(self.body, dict) and "detail" in self.body:
            detail = self.body["detail"]
            return detail if isinstance(detail, str) else str(detail)
        return str(self.body)[:500]


class ServiceCalls:
    def __init__(self, urls: dict[str, str], timeout_s: float) -> None:
        self.urls = urls
        self.http = httpx.AsyncClient(timeout=timeout_s)

    async def call(
        self, service: str, method: str, path: str, token: str, params: dict[str, str] | None = None
    ) -> Answer:
        url = self.urls[service] + path
        try:
            response = await self.http.request(method, url, params=params,
                                               headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        except httpx.TransportError as error:
            log.warning("console.service_unreachable", service=service, url=url, error=type(error).__name__)
            return Answer(service, 0, f"{type(error).__name__} at {self.urls[service]}")
        try:
            body = response.json()
        except ValueError:
            body = response.text[:500]
        return Answer(service, response.status_code, body)

    async def close(self) -> None:
        await self.http.aclose()
