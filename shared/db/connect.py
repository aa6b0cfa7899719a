from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

from shared.settings import with_database

log = structlog.get_logger(__name__)

# A plain connection, or one borrowed from a pool: the same API.
Connection = asyncpg.Connection | PoolConnectionProxy

# The database going away or coming back (restart, failover, network) under a connection, as opposed to a statement
# failing: what every loop retries and every request answers 503 for. A connection that breaks mid-operation can
# also leave asyncpg's protocol in a state it reports as an InternalClientError.
CONNECTION_LOST: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)
# The same, or a statement failing (a deadlock, a serialization failure): what a background loop starts again from.
DATABASE_ERRORS: tuple[type[Exception], ...] = (*CONNECTION_LOST, asyncpg.PostgresError)


async def ensure_database(dsn: str) -> None:
    """Create the database that `dsn` names if its server does not have it yet.

    Connects to the server's `postgres` maintenance database; CREATE DATABASE cannot run in a transaction
    and has no IF NOT EXISTS, so a concurrent creator is tolerated by catching DuplicateDatabaseError.
    """
    name = urlsplit(dsn).path.lstrip("/")
    conn = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
                log.info("database.created", database=name)
            except asyncpg.DuplicateDatabaseError:
                pass
    finally:
        await conn.close()


async def drop_database(dsn: str) -> None:
    """Drop the database that `dsn` names, if there, ending its sessions (a scratch database of a test or a
    measurement)."""
    name = urlsplit(dsn).path.lstrip("/")
    conn = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _reset_if_left_in_transaction(conn: asyncpg.Connection) -> None:
    """asyncpg resets every connection given back to the pool (unlock advisory locks, close cursors, UNLISTEN, RESET
    ALL): one more round trip per use, a large share of the database work per event. Our pooled connections keep no
    session state — session locks and LISTEN have connections of their own, settings are per transaction — so only a
    connection given back inside a transaction (a cancelled task) needs the full reset, which rolls it back."""
    if conn.is_in_transaction():
        await conn.reset()


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, reset=_reset_if_left_in_transaction)
    assert pool is not None  # asyncpg types the pool as optional for its `init` hook only
    return pool
