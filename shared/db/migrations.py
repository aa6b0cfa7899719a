"""Versioned SQL migrations, applied at start-up under an advisory lock.

A migration is a file `NNNN_what_it_does.sql` in a component's folder; components (a service, or a shared
mechanism such as the outbox) number their files independently. Applied files are recorded with a checksum,
and a recorded file that changed afterwards stops the start-up: migrations are append-only, written
expand-then-contract so a rolling upgrade never breaks the running version.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import structlog

from shared.db.connect import Connection

log = structlog.get_logger(__name__)

# One lock for every component of one database, so two replicas starting together apply each file once.
MIGRATION_LOCK_KEY = 0x6C69656E  # "lien"
FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component  text        NOT NULL,
    version    integer     NOT NULL,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""

RECORD_MIGRATION = "INSERT INTO schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)"


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def ledger_row(self) -> tuple[str, int, str, str]:
        return (self.component, self.version, self.name, self.checksum)


@dataclass(frozen=True)
class MigrationSource:
    """A component's folder of migration files."""

    component: str
    directory: Path

    def load(self) -> list[Migration]:
        if not self.directory.is_dir():
            raise MigrationError(f"migrations folder of {self.component} not found: {self.directory}")
        migrations = []
        for path in sorted(self.directory.glob("*.sql")):
            match = FILE_NAME.match(path.name)
            if match is None:
                raise MigrationError(f"{path}: migration files are named NNNN_lowercase_words.sql")
            version, name = int(match.group(1)), match.group(2)
            migrations.append(Migration(self.component, version, name, path.read_text(encoding="utf-8")))
        versions = [m.version for m in migrations]
        if len(set(versions)) != len(versions):
            raise MigrationError(f"{self.directory}: two files share a version number")
        return migrations


async def _applied(conn: Connection) -> dict[tuple[str, int], str]:
    rows = await conn.fetch("SELECT component, version, checksum FROM schema_migrations")
    return {(row["component"], row["version"]): row["checksum"] for row in rows}


def _check_unchanged(migrations: list[Migration], applied: dict[tuple[str, int], str]) -> list[Migration]:
    """The migrations not applied yet; refuses applied files that were edited afterwards."""
    pending = []
    for migration in migrations:
        recorded = applied.get((migration.component, migration.version))
        if recorded is None:
            pending.append(migration)
        elif recorded != migration.checksum:
            raise MigrationError(
                f"migration {migration.component}/{migration.version:04d}_{migration.name} changed after it "
                "was applied; write a new migration instead of editing an applied one"
            )
    return pending


async def pending_migrations(conn: Connection, sources: list[MigrationSource]) -> list[Migration]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    migrations = [m for source in sources for m in source.load()]
    return _check_unchanged(migrations, await _applied(conn) if exists else {})


async def apply_migrations(conn: Connection, sources: list[MigrationSource]) -> list[Migration]:
    """Apply every pending migration, each in its own transaction; returns those applied now."""
    migrations = [m for source in sources for m in source.load()]
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(CREATE_LEDGER)
        pending = _check_unchanged(migrations, await _applied(conn))
        for migration in pending:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(RECORD_MIGRATION, *migration.ledger_row())
            log.info("migration.applied", component=migration.component, version=migration.version)
        return pending
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
