import asyncio
from pathlib import Path

import asyncpg
import pytest

from shared.db import MigrationSource, apply_migrations, pending_migrations
from shared.db.migrations import MigrationError


def source(tmp_path: Path) -> MigrationSource:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_create_dossier.sql").write_text("CREATE TABLE dossier (id uuid PRIMARY KEY);")
    (folder / "0002_add_code.sql").write_text("ALTER TABLE dossier ADD COLUMN code text;")
    return MigrationSource("demo", folder)


async def test_migrations_apply_once_and_are_recorded(fresh_database: str, tmp_path: Path) -> None:
    demo = source(tmp_path)
    conn = await asyncpg.connect(fresh_database)
    try:
        assert [m.version for m in await pending_migrations(conn, [demo])] == [1, 2]
        assert [m.version for m in await apply_migrations(conn, [demo])] == [1, 2]
        assert await apply_migrations(conn, [demo]) == []
        assert await pending_migrations(conn, [demo]) == []
        columns = await conn.fetch("SELECT column_name FROM information_schema.columns WHERE table_name = 'dossier'")
        assert {c["column_name"] for c in columns} == {"id", "code"}
    finally:
        await conn.close()


async def test_replicas_starting_together_apply_each_migration_once(fresh_database: str, tmp_path: Path) -> None:
    demo = source(tmp_path)
    connections = [await asyncpg.connect(fresh_database) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(apply_migrations(conn, [demo]) for conn in connections))
        assert sorted(len(batch) for batch in applied) == [0, 0, 2]
        rows = await connections[0].fetchval("SELECT count(*) FROM schema_migrations")
        assert rows == 2
    finally:
        for conn in connections:
            await conn.close()


async def test_an_applied_migration_edited_afterwards_stops_the_start(fresh_database: str, tmp_path: Path) -> None:
    demo = source(tmp_path)
    conn = await asyncpg.connect(fresh_database)
    try:
        await apply_migrations(conn, [demo])
        (demo.directory / "0002_add_code.sql").write_text("ALTER TABLE dossier ADD COLUMN code varchar(40);")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(conn, [demo])
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_half_applied(fresh_database: str, tmp_path: Path) -> None:
    demo = source(tmp_path)
    (demo.directory / "0003_broken.sql").write_text("CREATE TABLE half (id int); SELECT no_such_function();")
    conn = await asyncpg.connect(fresh_database)
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await apply_migrations(conn, [demo])
        assert await conn.fetchval("SELECT to_regclass('half')") is None
        assert [m.version for m in await pending_migrations(conn, [demo])] == [3]
    finally:
        await conn.close()
