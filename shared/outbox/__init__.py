"""The producer side of the reliability contract: events written in the state change's transaction, then
published by a relay that keeps per-dossier order."""

from pathlib import Path

from shared.db import MigrationSource

OUTBOX_MIGRATIONS = MigrationSource("outbox", Path(__file__).parent / "migrations")
# Keys are spread over this many shards; each shard has one relay at a time, which keeps per-dossier order.
# Fixed: a row's shard is computed when it is written.
SHARDS = 16
NOTIFY_CHANNEL = "lienthong_outbox"  # notified by the outbox table's trigger (migrations/0002_wake_relay_on_insert.sql)
