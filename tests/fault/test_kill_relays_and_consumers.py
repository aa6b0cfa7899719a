"""Nothing lost, nothing applied twice, per-dossier order kept: 10,000 events of 500 dossiers go through the
outbox of two relay processes to two consumer processes, while all four are killed with SIGKILL at random
moments and restarted."""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from shared.db import drop_database
from shared.outbox.writer import Outbox
from shared.settings import KafkaSettings
from tests.conftest import create_database
from tests.fault.harness import APPLIED_TABLE
from tests.processes import KillableProcess
from tests.support.messaging import consumer_database, create_topics, eventually, outbox_database, unique

DOSSIERS = 500
EVENTS_PER_DOSSIER = 20
KILLS = 12


async def write_events(dsn: str, topic: str, dossiers: list[str]) -> None:
    """The producing service: transactions of 20 events of random dossiers, as fast as the database goes."""
    outbox = Outbox("intake")
    remaining = [d for d in dossiers for _ in range(EVENTS_PER_DOSSIER)]
    random.shuffle(remaining)
    conn = await asyncpg.connect(dsn)
    try:
        while remaining:
            batch, remaining = remaining[:20], remaining[20:]
            async with conn.transaction():
                for dossier_id in batch:
                    await outbox.add_raw(
                        conn, event_type="test.step", version=1, data={"at": "step"}, topic=topic,
                        dossier_id=dossier_id, dossier_code=f"TEST-{dossier_id[:8]}",
                    )  # fmt: skip
            await asyncio.sleep(0.01)
    finally:
        await conn.close()


async def chaos(harnesses: list[KillableProcess]) -> None:
    """KILLS times: wait a random moment, SIGKILL a random process, restart it a random moment later."""
    rng = random.Random(2026)
    for _ in range(KILLS):
        await asyncio.sleep(rng.uniform(0.3, 1.5))
        victim = rng.choice(harnesses)
        victim.kill()
        await asyncio.sleep(rng.uniform(0.1, 1.0))
        victim.start()


async def read_topic(kafka: KafkaSettings, topic: str, expected_at_least: int) -> list[tuple[str, int, str]]:
    consumer = AIOKafkaConsumer(topic, **kafka.client_options(), auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    seen: list[tuple[str, int, str]] = []
    try:
        idle = 0
        while idle < 3 or len(seen) < expected_at_least:
            batches = await consumer.getmany(timeout_ms=1000)
            idle = 0 if batches else idle + 1
            for records in batches.values():
                for r in records:
                    headers = dict(r.headers)
                    seen.append(
                        (headers["ce_dossierid"].decode(), int(headers["ce_dossierseq"]), headers["ce_id"].decode())
                    )
    finally:
        await consumer.stop()
    return seen


async def test_events_survive_sigkill_of_relays_and_consumers(
    server_database_url: str,
    kafka_settings: KafkaSettings,
    infrastructure_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    producer_db, consumer_db = await create_database(server_database_url), await create_database(server_database_url)
    topic, group = unique("fault-kill"), unique("fault-group")
    try:
        await outbox_database(producer_db)
        await consumer_database(consumer_db)
        conn = await asyncpg.connect(consumer_db)
        await conn.execute(APPLIED_TABLE)
        await conn.close()
        await create_topics(kafka_settings, topic, f"{group}.dlq", partitions=12)

        env = {**os.environ, **infrastructure_env}
        consumer_args = ["consumer", "--database-url", consumer_db, "--topic", topic, "--group", group]
        harnesses = [
            KillableProcess(name, ["-m", "tests.fault.harness", *args], env, tmp_path / f"{name}.log")
            for name, args in [
                ("relay-1", ["relay", "--database-url", producer_db]),
                ("relay-2", ["relay", "--database-url", producer_db]),
                ("consumer-1", consumer_args),
                ("consumer-2", consumer_args),
            ]
        ]
        for harness in harnesses:
            harness.start()
        dossiers = [str(uuid.uuid4()) for _ in range(DOSSIERS)]
        total = DOSSIERS * EVENTS_PER_DOSSIER
        try:
            chaos_task = asyncio.create_task(chaos(harnesses))
            await write_events(producer_db, topic, dossiers)
            await chaos_task
            applied = await wait_for_applied(consumer_db, total, timeout_s=300)
        finally:
            for harness in harnesses:
                harness.stop()

        per_dossier: dict[str, list[int]] = defaultdict(list)
        for dossier_id, seq in applied:
            per_dossier[dossier_id].append(seq)
        expected = list(range(1, EVENTS_PER_DOSSIER + 1))
        lost = (
            sum(len(set(expected) - set(seqs)) for seqs in per_dossier.values())
            + (DOSSIERS - len(per_dossier)) * EVENTS_PER_DOSSIER
        )
        twice = sum(n - 1 for n in Counter(applied).values() if n > 1)
        out_of_order = sum(1 for seqs in per_dossier.values() if seqs != sorted(seqs))
        on_topic = await read_topic(kafka_settings, topic, total)
        repeats = len(on_topic) - len({event_id for _, _, event_id in on_topic})
        kills = {h.name: h.kills for h in harnesses}
        with capsys.disabled():
            print(
                "\nfault: kill relays and consumers\n"
                f"  dossiers {DOSSIERS}  events {total}  kills {sum(kills.values())} {kills}\n"
                f"  applied {len(applied)}  lost {lost}  applied twice {twice}  out of order {out_of_order}  "
                f"topic repeats {repeats}"
            )
        assert sum(kills.values()) == KILLS
        assert lost == 0
        assert twice == 0
        assert out_of_order == 0
        assert all(seqs == expected for seqs in per_dossier.values())
        conn = await asyncpg.connect(consumer_db)
        try:
            assert await conn.fetchval("SELECT count(*) FROM consumer_dead_letters") == 0
            assert await conn.fetchval("SELECT count(*) FROM consumer_parked") == 0
        finally:
            await conn.close()
    finally:
        await drop_database(producer_db)
        await drop_database(consumer_db)


async def wait_for_applied(dsn: str, total: int, timeout_s: float) -> list[tuple[str, int]]:
    conn = await asyncpg.connect(dsn)
    try:

        async def all_applied() -> bool:
            return bool(await conn.fetchval("SELECT count(DISTINCT (dossier_id, seq)) FROM harness_applied") >= total)

        await eventually(all_applied, timeout_s, what=f"{total} events applied")
        await asyncio.sleep(2)  # let any late repeat land, so that the check would see it
        rows = await conn.fetch("SELECT dossier_id, seq FROM harness_applied ORDER BY position")
        return [(row["dossier_id"], row["seq"]) for row in rows]
    finally:
        await conn.close()
