"""The consumer side of the reliability contract: each service declares one handler per event type; the runner
deduplicates, parks, retries, dead-letters and commits offsets."""

from pathlib import Path

from shared.db import MigrationSource

CONSUMER_MIGRATIONS = MigrationSource("consumer", Path(__file__).parent / "migrations")
