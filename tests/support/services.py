"""A service under test as the separate process it is in production, on a fresh database, with the shipped rules
published, its own staff-token key (`home/identity`) and a controllable clock (`home/clock.json`); and the
schemathesis run every service's API goes through; and reading one of a service's Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from shared.db import drop_database
from shared.identity.keys import ensure_signing_key
from shared.rules.publish import documents_from_folder, publish
from shared.settings import KafkaSettings
from tests.conftest import create_database
from tests.infrastructure import REPO
from tests.processes import running_service, wait_for


@contextlib.contextmanager
def service_under_test(
    name: str, infrastructure_env: dict[str, str], server_database_url: str, home: Path,
    clock: dict[str, Any] | None = None, extra_env: dict[str, str] | None = None, port: int | None = None,
) -> Iterator[str]:  # fmt: skip
    """Yields the service's base URL once it is ready; the database is dropped afterwards."""
    kafka = KafkaSettings(bootstrap_servers=infrastructure_env["KAFKA_BOOTSTRAP_SERVERS"])
    asyncio.run(publish(kafka, documents_from_folder()))
    ensure_signing_key(home / "identity")
    (home / "clock.json").write_text(json.dumps(clock or {"offset_s": 0}))
    database = asyncio.run(create_database(server_database_url))
    env = {
        **infrastructure_env,
        f"{name.upper()}_DATABASE_URL": database,
        "IDENTITY_JWKS": str(home / "identity" / "jwks.json"),
        "CLOCK_CONTROL_FILE": str(home / "clock.json"),
        **(extra_env or {}),
    }
    try:
        with running_service(name, env, port) as base:
            wait_for(f"{base}/readyz")
            yield base
    finally:
        asyncio.run(drop_database(database))


async def schemathesis_run(base_url: str, authorization: str) -> subprocess.CompletedProcess[str]:
    """Generated requests against every operation of the service's OpenAPI with that token, checking only that
    none is answered with a 5xx."""
    command = [
        str(REPO / ".venv" / "bin" / "schemathesis"), "run", f"{base_url.rstrip('/')}/openapi.json",
        "--checks", "not_a_server_error", "--max-examples", "20", "--seed", "2026",
        "-H", f"Authorization: {authorization}",
    ]  # fmt: skip
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=600, check=False)


async def metric(http: httpx.AsyncClient, base: str, name: str) -> float:
    """The value of an unlabelled metric on the service's /metrics."""
    for line in (await http.get(f"{base}/metrics")).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in {base}/metrics")
