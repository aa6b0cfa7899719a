"""Fixtures every tier shares. `make test` (tests/run.py) provides the broker and database through the
environment; a bare `pytest` run without them gets its own from tests/infrastructure.py."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from shared.db import drop_database
from shared.settings import KafkaSettings, with_database
from tests.infrastructure import infrastructure
from tests.processes import SERVICE_LOGS


@pytest.fixture(scope="session", autouse=True)
def service_logs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The folder where the services tests start log: under pytest's base temporary folder, so that they are kept
    with everything else of the run (tests/run.py scans them all for personal data)."""
    folder = tmp_path_factory.getbasetemp() / "logs"
    folder.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SERVICE_LOGS, str(folder))
        yield folder


@pytest.fixture(scope="session")
def infrastructure_env() -> Iterator[dict[str, str]]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL"):
        yield {name: os.environ[name] for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    else:
        with infrastructure() as env:
            yield env


@pytest.fixture(scope="session")
def kafka_settings(infrastructure_env: dict[str, str]) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=infrastructure_env["KAFKA_BOOTSTRAP_SERVERS"])


@pytest.fixture(scope="session")
def server_database_url(infrastructure_env: dict[str, str]) -> str:
    return infrastructure_env["DATABASE_URL"]


async def create_database(server_database_url: str) -> str:
    """A new, empty database on the test server; returns its URL."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(with_database(server_database_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return with_database(server_database_url, name)


@pytest.fixture
async def fresh_database(server_database_url: str) -> AsyncIterator[str]:
    """A new, empty database on the test server, dropped afterwards; yields its URL."""
    url = await create_database(server_database_url)
    yield url
    await drop_database(url)
