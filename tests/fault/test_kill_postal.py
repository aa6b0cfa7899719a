"""Postal killed with SIGKILL during a burst: 40 pickups requested at once while the process dies three times at
random moments. Afterwards every dossier was handed to the desk; the carrier holds exactly one order per shipment
(an order placed again after a crash carries the same idempotency key, and the carrier answers it as the same
order); each shipment event is on the topic once per id."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.db import drop_database
from shared.settings import KafkaSettings
from tests.conftest import create_database
from tests.processes import KillableProcess, free_low_port, kill_and_restart, wait_for
from tests.support.driver import POSTAL, driving
from tests.support.messaging import eventually
from tests.support.postal import FAST, PostalDriver, carrier_simulator, new_dossier

DOSSIERS = 40
KILLS = 3


async def test_a_killed_postal_places_no_order_twice(
    server_database_url: str, kafka_settings: KafkaSettings, infrastructure_env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    database = await create_database(server_database_url)
    port, secret = free_low_port(), secrets.token_hex(32)
    (tmp_path / "clock.json").write_text('{"offset_s": 0}')
    try:
        with carrier_simulator(tmp_path, port, secret) as (carrier, _):
            env = {**os.environ, **infrastructure_env, **FAST, "POSTAL_DATABASE_URL": database,
                   "POSTAL_PORT": str(port), "POSTAL_CARRIER_URL": carrier, "POSTAL_STUCK_ORDER_S": "2",
                   "POSTAL_CARRIER_WEBHOOK_SECRET": secret, "CLOCK_CONTROL_FILE": str(tmp_path / "clock.json"),
                   "LOG_FORMAT": "json"}  # fmt: skip
            postal = KillableProcess("postal", ["-m", "services.postal"], env, tmp_path / "postal.log")
            postal.start()
            try:
                await asyncio.to_thread(wait_for, f"http://127.0.0.1:{port}/readyz")
                async with driving(PostalDriver, f"http://127.0.0.1:{port}", tmp_path, kafka_settings,
                                   POSTAL) as driver:  # fmt: skip
                    driver.carrier = carrier
                    driver.run_clock_from(datetime.now(UTC))
                    dossiers = [new_dossier() for _ in range(DOSSIERS)]
                    for dossier in dossiers:
                        await driver.contact(dossier)
                    killing = asyncio.create_task(kill_and_restart(postal, KILLS, (0.3, 1.2), (0.2, 0.8)))
                    for dossier in dossiers:
                        await driver.ask_pickup(dossier)
                    await killing

                    async def all_handed_over() -> bool:
                        return all(any(e.type == "shipment.handed-to-agency" for e in driver.published[d.id])
                                   for d in dossiers)  # fmt: skip

                    await eventually(all_handed_over, timeout_s=120, what="every dossier handed to the desk")
                    await asyncio.sleep(2)  # let a late repeat land, so that the counts would see it
                    orders = [o for o in await driver.at_carrier("orders")
                              if any(o["order_number"].startswith(d.code) for d in dossiers)]  # fmt: skip
                    doubled = sum(
                        n - 1 for d in dossiers for t, n in Counter(e.type for e in driver.published[d.id]).items()
                        if n > 1 and t != "shipment.delivery-failed"
                    )  # fmt: skip
                    repeats = driver.repeats
            finally:
                postal.stop()
    finally:
        await drop_database(database)
    keys = Counter(o["idempotency_key"] for o in orders)
    with capsys.disabled():
        print(
            f"\nfault: kill postal during a burst\n  dossiers {DOSSIERS}  kills {postal.kills}  carrier orders "
            f"{len(orders)}  create calls {sum(o['creates'] for o in orders)}  events doubled {doubled}  "
            f"topic repeats {repeats}"
        )
    assert postal.kills == KILLS
    assert len(orders) == DOSSIERS, "one carrier order per shipment"
    assert max(keys.values()) == 1
    assert doubled == 0
