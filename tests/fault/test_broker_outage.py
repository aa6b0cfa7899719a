"""A broker outage never loses or blocks an accepted dossier: the broker of this test (its own, so that stopping
it disturbs no other test) is stopped for 30 s while the intake service keeps writing events to its outbox; the
service stays ready, the backlog grows, and once the broker is back every event is published in order."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from deploy.local.kafka import KafkaPart
from deploy.local.settings import StackSettings
from shared.kafka.topics import ensure_topics, load_topics
from shared.outbox.writer import Outbox
from shared.settings import KafkaSettings
from tests.processes import running_service, wait_for
from tests.support.messaging import eventually
from tests.support.services import metric

OUTAGE_S = 30
TOPIC = "lienthong.intake.v1"
PARTITIONS = next(t.partitions for t in load_topics().topics if t.name == TOPIC)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[KafkaPart]:
    broker = KafkaPart(StackSettings(home=tmp_path / "broker", port_base=25000, profile="test"))
    broker.prepare()
    broker.launch()
    broker.wait_ready()
    try:
        yield broker
    finally:
        broker.stop()


async def write(dsn: str, dossiers: list[str], rounds: int) -> int:
    """Each round: one event for every dossier, in one transaction, as intake's handlers would."""
    outbox = Outbox("intake")
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(rounds):
            async with conn.transaction():
                for d in dossiers:
                    await outbox.add_raw(
                        conn, event_type="dossier.accepted", version=1, data={}, topic=TOPIC, dossier_id=d,
                        dossier_code="TEST",
                    )  # fmt: skip
    finally:
        await conn.close()
    return rounds * len(dossiers)


async def test_a_broker_outage_only_grows_the_backlog(
    own_broker: KafkaPart, fresh_database: str, infrastructure_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    kafka = KafkaSettings(bootstrap_servers=own_broker.address)
    await ensure_topics(kafka)
    env = {**infrastructure_env, "KAFKA_BOOTSTRAP_SERVERS": own_broker.address, "INTAKE_DATABASE_URL": fresh_database}
    dossiers = [str(uuid.uuid4()) for _ in range(10)]
    with running_service("intake", env) as base:
        wait_for(f"{base}/readyz")
        http = httpx.AsyncClient(base_url=base, timeout=5)
        written = await write(fresh_database, dossiers, rounds=5)

        await asyncio.to_thread(own_broker.stop)
        stopped_at = time.monotonic()
        readiness: list[int] = []
        highest_backlog = 0.0
        written_during_outage = 0
        while time.monotonic() - stopped_at < OUTAGE_S:
            written_during_outage += await write(fresh_database, dossiers, rounds=1)
            readiness.append((await http.get("/readyz")).status_code)
            highest_backlog = max(highest_backlog, await metric(http, base, "lienthong_outbox_backlog"))
            await asyncio.sleep(1)
        written += written_during_outage
        broker_seen_down = (await http.get("/healthz")).json()["broker"]["reachable"] is False
        # The part's own readiness check runs an event loop of its own: off this one.
        await asyncio.to_thread(own_broker.launch)
        await asyncio.to_thread(own_broker.wait_ready)
        restarted_at = time.monotonic()

        async def drained() -> bool:
            return await metric(http, base, "lienthong_outbox_backlog") == 0

        await eventually(drained, timeout_s=90, what="backlog drained after the broker returned")
        drained_s = time.monotonic() - restarted_at
        await http.aclose()

    events = await read_all(kafka)
    sequences: dict[str, list[int]] = defaultdict(list)
    for dossier_id, seq in events:
        sequences[dossier_id].append(seq)
    per_dossier = written // len(dossiers)
    with capsys.disabled():
        print(
            f"\nfault: broker stopped {OUTAGE_S} s: {written} events written, backlog peaked at "
            f"{highest_backlog:.0f}, drained {drained_s:.1f} s after the broker returned, "
            f"{len(events) - written} repeats on the topic"
        )
    assert set(readiness) == {200}, "intake must stay ready while the broker is away"
    assert broker_seen_down
    # The gauge is read once a second and refreshed once a second: the last two rounds may not show in it.
    assert highest_backlog >= written_during_outage - 2 * len(dossiers), "the backlog gauge follows the outage"
    for d in dossiers:
        unique_in_order = list(dict.fromkeys(sequences[d]))
        missing = sorted(set(range(1, per_dossier + 1)) - set(unique_in_order))
        assert not missing, f"dossier {d}: events {missing} never reached the topic"
        assert unique_in_order == list(range(1, per_dossier + 1)), f"dossier {d}: out of order"


async def read_all(kafka: KafkaSettings) -> list[tuple[str, int]]:
    """Everything on the topic up to its end offsets: a loss shows up as a missing sequence number,
    not as a read that waits for a count it will never reach."""
    consumer = AIOKafkaConsumer(**kafka.client_options(), auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    seen: list[tuple[str, int]] = []
    try:
        partitions = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        end = await consumer.end_offsets(partitions)
        async with asyncio.timeout(60):
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    for r in records:
                        headers = dict(r.headers)
                        seen.append((headers["ce_dossierid"].decode(), int(headers["ce_dossierseq"])))
    finally:
        await consumer.stop()
    return seen
