"""Broker reachability, reported in /healthz and /metrics. Never readiness: accepting work while the broker is
away is what the outbox is for (design.md, "The reliability contract")."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from aiokafka.admin import AIOKafkaAdminClient

from shared.settings import KafkaSettings

log = structlog.get_logger(__name__)


@dataclass
class BrokerStatus:
    reachable: bool = False
    checked_at: datetime | None = None
    brokers: int = 0
    error: str | None = None


class BrokerProbe:
    def __init__(self, kafka: KafkaSettings, interval_s: float = 10.0, timeout_s: float = 5.0) -> None:
        self._kafka = kafka
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._admin: AIOKafkaAdminClient | None = None
        self.status = BrokerStatus()

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self._interval_s)

    async def check(self) -> BrokerStatus:
        was_reachable = self.status.reachable
        try:
            async with asyncio.timeout(self._timeout_s):
                if self._admin is None:
                    self._admin = AIOKafkaAdminClient(
                        **self._kafka.client_options(), request_timeout_ms=int(self._timeout_s * 1000)
                    )
                    await self._admin.start()
                cluster = await self._admin.describe_cluster()
            self.status = BrokerStatus(True, datetime.now(UTC), len(cluster["brokers"]))
        except Exception as error:  # any failure means "not reachable now"; the next check retries
            await self.close()
            self.status = BrokerStatus(False, datetime.now(UTC), 0, f"{type(error).__name__}: {error}")
        if self.status.reachable != was_reachable:
            log.info("broker.reachability_changed", reachable=self.status.reachable, error=self.status.error)
        return self.status

    async def close(self) -> None:
        if self._admin is not None:
            admin, self._admin = self._admin, None
            with contextlib.suppress(Exception):
                await admin.close()
