"""Processes for the fault tests, killed and restarted at will:

    python -m tests.fault.harness relay    --database-url URL
    python -m tests.fault.harness consumer --database-url URL --topic T --group G

The consumer applies `test.step` events by appending (dossier, seq) to `harness_applied`, with no unique
constraint, so that an event applied twice or out of order would show in the table instead of being hidden."""

from __future__ import annotations

import argparse
import asyncio

import asyncpg
from prometheus_client import CollectorRegistry

from shared.consumer.runner import ConsumerRunner, Handler
from shared.db import Connection
from shared.events.envelope import Envelope
from shared.logging import configure_logging
from shared.outbox.relay import Relay
from shared.settings import KafkaSettings, LogSettings

APPLIED_TABLE = """
CREATE TABLE IF NOT EXISTS harness_applied (
    position   bigserial PRIMARY KEY,
    dossier_id text   NOT NULL,
    seq        bigint NOT NULL,
    event_id   text   NOT NULL
)
"""


async def apply_step(conn: Connection, event: Envelope) -> None:
    await conn.execute(
        "INSERT INTO harness_applied (dossier_id, seq, event_id) VALUES ($1, $2, $3)",
        event.dossierid, event.dossierseq, event.id,
    )  # fmt: skip


async def consume(database_url: str, topic: str, group: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=3)
    runner = ConsumerRunner(
        group=group,
        topics=[topic],
        handlers={"test.step": Handler(apply_step)},
        pool=pool,
        kafka=KafkaSettings(),
        registry=CollectorRegistry(),
        is_known_type=lambda event_type: event_type == "test.step",
        session_timeout_ms=3000,
    )
    await runner.run()


async def relay(database_url: str) -> None:
    await Relay(database_url, KafkaSettings(), CollectorRegistry(), poll_interval_s=0.2).run()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["relay", "consumer"])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--topic")
    parser.add_argument("--group")
    args = parser.parse_args()
    configure_logging(LogSettings(level="WARNING", format="json"), harness=args.role)
    if args.role == "relay":
        asyncio.run(relay(args.database_url))
    else:
        asyncio.run(consume(args.database_url, args.topic, args.group))


if __name__ == "__main__":
    main()
