"""Notification killed with SIGKILL while it sends: 60 dossiers, each told by SMS and by email, while the process
dies four times at random moments. Afterwards every applicant got each message; no SMS reached the gateway twice
(the retry after a crash goes to the gateway that may have it, with the same idempotency key); emails repeated at
the sink (same Message-ID: SMTP cannot deduplicate) are no more than the uncertain sends notification recorded."""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from shared.db import drop_database
from shared.events.examples import examples
from shared.settings import KafkaSettings
from tests.conftest import create_database
from tests.processes import KillableProcess, free_low_port, kill_and_restart, wait_for
from tests.support.driver import NOTIFICATION, ROUTING, Dossier, driving
from tests.support.messaging import eventually
from tests.support.notification import NotificationDriver, simulated_providers

DOSSIERS = 60
KILLS = 4


async def test_a_killed_notification_sends_no_sms_twice_and_counts_its_uncertain_emails(
    server_database_url: str, kafka_settings: KafkaSettings, infrastructure_env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    database = await create_database(server_database_url)
    port = free_low_port()
    try:
        with simulated_providers(tmp_path, port) as providers:
            env = {**os.environ, **infrastructure_env, **providers.env, "NOTIFICATION_DATABASE_URL": database,
                   "NOTIFICATION_PORT": str(port), "NOTIFICATION_STUCK_SEND_S": "2", "LOG_FORMAT": "json"}  # fmt: skip
            notification = KillableProcess("notification", ["-m", "services.notification"], env, tmp_path / "n.log")
            notification.start()
            try:
                await asyncio.to_thread(wait_for, f"http://127.0.0.1:{port}/readyz")
                async with driving(NotificationDriver, f"http://127.0.0.1:{port}", tmp_path, kafka_settings,
                                   NOTIFICATION) as driver:  # fmt: skip
                    driver.gateway, driver.sink = providers.gateway, providers.sink
                    dossiers = [Dossier(str(uuid.uuid4()), f"H29.101.1-261202-{n:08d}", "H29.101.1")
                                for n in random.sample(range(10**8), DOSSIERS)]  # fmt: skip
                    killing = asyncio.create_task(kill_and_restart(notification, KILLS, (0.3, 1.5), (0.2, 1.0)))
                    for dossier in dossiers:
                        await driver.contact(dossier, email=f"{dossier.id[:8]}@example.org", notify_by="both")
                        await driver.publish(dossier, examples()["dossier.result-ready"], ROUTING)
                    await killing
                    codes = {d.code for d in dossiers}

                    async def everyone_told() -> bool:
                        texts = [m["text"] for m in (await driver.sms())["messages"]]
                        subjects = [m["headers"]["Subject"] for m in (await driver.emails())["messages"]]
                        return all(any(c in t for t in texts) and any(c in s for s in subjects) for c in codes)

                    await eventually(everyone_told, timeout_s=120, what="every applicant told by SMS and email")
                    await asyncio.sleep(3)  # let a late resend land, so that the counts would show it
                    sms_counts = (await driver.sms())["counts"]
                    email_counts = (await driver.emails())["counts"]
            finally:
                notification.stop()
        conn = await asyncpg.connect(database)
        try:
            # Only this test's dossiers: the topics are shared with the tests before, whose events this fresh
            # consumer group reads too.
            ours = [uuid.UUID(d.id) for d in dossiers]
            rows = await conn.fetch(
                "SELECT status, uncertain_sends FROM notifications WHERE dossier_id = ANY($1)", ours
            )
            records, uncertain = len(rows), sum(r["uncertain_sends"] for r in rows)
            statuses = Counter(r["status"] for r in rows)
        finally:
            await conn.close()
    finally:
        await drop_database(database)
    sms_twice = sum(n - 1 for n in sms_counts.values())
    email_repeats = sum(n - 1 for n in email_counts.values())
    with capsys.disabled():
        print(
            f"\nfault: kill notification while it sends\n  dossiers {DOSSIERS}  kills {notification.kills}  "
            f"records {records} {dict(statuses)}  SMS twice {sms_twice}  email repeats {email_repeats}  "
            f"uncertain sends {uncertain}"
        )
    assert notification.kills == KILLS
    assert records == 2 * DOSSIERS, "one record per event, channel and recipient"
    assert sms_twice == 0
    assert email_repeats <= uncertain
