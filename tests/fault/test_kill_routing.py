"""Routing killed with SIGKILL during a burst: 150 accepted dossiers arrive while staff complete their first step
through the API, and the routing process dies three times at random moments. Afterwards every dossier has its
steps exactly once in routing's tables, and on its topic each step event once (repeats of one id are allowed by
the at-least-once contract and counted), in an unbroken dossierseq."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared.db import drop_database
from shared.events.envelope import Envelope
from shared.rules.publish import documents_from_folder, publish
from shared.settings import KafkaSettings
from tests.conftest import create_database
from tests.processes import KillableProcess, free_port, kill_and_restart, wait_for
from tests.support.driver import ROUTING, Dossier, driving
from tests.support.routing import RoutingDriver

DOSSIERS = 150
KILLS = 3
DESK, OFFICE = "H29.101.1", "H29.101.3"  # household business registration: review, then issue, both at the office
EXPECTED = Counter({"step.transferred": 2, "dossier.processing-started": 1, "step.completed": 1})


async def complete_review(driver: RoutingDriver, dossier: Dossier, auth: dict[str, str]) -> int:
    """What an officer does while routing dies under them: try again until the step is done (200) or already done
    (409, when an earlier try committed before the answer was lost)."""
    while True:
        try:
            answer = await driver.http.post(f"/processing/dossiers/{dossier.code}/steps/review/complete",
                                            json={"note": "Đủ điều kiện"}, headers=auth)  # fmt: skip
            if answer.status_code in (200, 409):
                return answer.status_code
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)


async def test_a_killed_routing_loses_and_doubles_no_step(
    server_database_url: str, kafka_settings: KafkaSettings, infrastructure_env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    await publish(kafka_settings, documents_from_folder())
    database = await create_database(server_database_url)
    port = free_port()
    env = {**os.environ, **infrastructure_env, "ROUTING_DATABASE_URL": database, "ROUTING_PORT": str(port),
           "IDENTITY_JWKS": str(tmp_path / "identity" / "jwks.json"), "LOG_FORMAT": "json"}  # fmt: skip
    routing = KillableProcess("routing", ["-m", "services.routing"], env, tmp_path / "routing.log")
    try:
        async with driving(RoutingDriver, f"http://127.0.0.1:{port}", tmp_path, kafka_settings, ROUTING) as driver:
            auth = driver.token(OFFICE)  # creates the key whose JWKS routing reads
            routing.start()
            await asyncio.to_thread(wait_for, f"http://127.0.0.1:{port}/readyz")
            now = datetime.now(UTC)
            dossiers = [await driver.publish_accepted("2.000720", 1, DESK, now) for _ in range(DOSSIERS)]
            killing = asyncio.create_task(kill_and_restart(routing, KILLS, (0.5, 2.5), (0.2, 1.0)))
            answers = await asyncio.gather(*(complete_review(driver, d, auth) for d in dossiers))
            await killing

            def settled(events: list[Envelope]) -> bool:
                return Counter(e.type for e in events) == EXPECTED

            for dossier in dossiers:
                await driver.wait_for(dossier, settled, what="every step event, once")
            await asyncio.sleep(2)  # let any late repeat land, so that the checks would see it
            published = {d.id: driver.published[d.id] for d in dossiers}
            repeats = driver.repeats
    finally:
        routing.stop()
    try:
        conn = await asyncpg.connect(database)
        try:
            steps = Counter(
                (str(r["dossier_id"]), r["step_id"], r["completed_at"] is not None)
                for r in await conn.fetch("SELECT dossier_id, step_id, completed_at FROM steps")
            )
            dossier_rows = await conn.fetchval("SELECT count(*) FROM dossiers")
            # Only ours: the group may also meet older events of other tests on intake's topic.
            dead = await conn.fetchval(
                "SELECT count(*) FROM consumer_dead_letters WHERE dossier_id = ANY($1)", [d.id for d in dossiers]
            )
        finally:
            await conn.close()
    finally:
        await drop_database(database)
    doubled = sum(Counter(e.type for e in events)[t] - n for events in published.values() for t, n in EXPECTED.items()
                  if Counter(e.type for e in events)[t] > n)  # fmt: skip
    broken_seq = sum(sorted(e.dossierseq for e in events) != list(range(1, len(events) + 1))
                     for events in published.values())  # fmt: skip
    with capsys.disabled():
        print(
            f"\nfault: kill routing during a burst\n  dossiers {DOSSIERS}  kills {routing.kills}  "
            f"completions answered 200: {answers.count(200)}, 409: {answers.count(409)}  "
            f"steps doubled {doubled}  broken sequences {broken_seq}  topic repeats {repeats}"
        )
    assert routing.kills == KILLS
    assert dossier_rows == DOSSIERS
    assert steps == Counter(
        {(d.id, "review", True): 1 for d in dossiers} | {(d.id, "issue", False): 1 for d in dossiers}
    )
    assert doubled == 0
    assert broken_seq == 0
    assert dead == 0
