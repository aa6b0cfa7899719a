"""Fixtures of the integration tier: routing as a separate process (one per test module), and the driver that
plays the services around it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from shared.settings import KafkaSettings
from tests.support.driver import ROUTING, driving
from tests.support.routing import RoutingDriver
from tests.support.services import service_under_test

FAST_TIMERS = {"ROUTING_SCHEDULER_INTERVAL_S": "0.2", "ROUTING_ACCOUNTABILITY_REFRESH_S": "1"}


@pytest.fixture(scope="module")
def routing(
    infrastructure_env: dict[str, str], server_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    home = tmp_path_factory.mktemp("routing")
    with service_under_test("routing", infrastructure_env, server_database_url, home, extra_env=FAST_TIMERS) as base:
        yield base, home


@pytest.fixture
async def driver(routing: tuple[str, Path], kafka_settings: KafkaSettings) -> AsyncIterator[RoutingDriver]:
    base, home = routing
    async with driving(RoutingDriver, base, home, kafka_settings, ROUTING) as driver:
        yield driver
