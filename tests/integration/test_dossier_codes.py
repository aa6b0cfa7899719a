"""Dossier codes are unique and gap-free per unit and day, under concurrency and rollbacks."""

import asyncio
from datetime import UTC, datetime

import asyncpg

from shared.dossier_codes import DOSSIER_CODE_MIGRATIONS, allocate_dossier_code
from tests.support.messaging import migrate

# 17:30 UTC on 13 Feb is already 00:30 on 14 Feb in Vietnam: the code carries the local day.
EVENING = datetime(2026, 2, 13, 17, 30, tzinfo=UTC)


async def test_concurrent_registrations_get_consecutive_numbers_and_rollbacks_leave_no_gap(
    fresh_database: str,
) -> None:
    await migrate(fresh_database, DOSSIER_CODE_MIGRATIONS)
    pool = await asyncpg.create_pool(fresh_database, min_size=8, max_size=8)
    given: list[str] = []

    async def register(n: int) -> None:
        async with pool.acquire() as conn:
            try:
                async with conn.transaction():
                    code = await allocate_dossier_code(conn, "H29.21.5", EVENING)
                    await asyncio.sleep(0.01)  # the rest of the registration, holding the counter row
                    if n % 5 == 0:
                        raise RuntimeError("registration failed after its code was allocated")
                    given.append(str(code))
            except RuntimeError:
                pass

    try:
        await asyncio.gather(*(register(n) for n in range(60)))
        async with pool.acquire() as conn, conn.transaction():
            other = await allocate_dossier_code(conn, "H29.21.6", EVENING)
    finally:
        await pool.close()
    assert len(given) == 48
    assert sorted(given) == [f"H29.21.5-260214-{n:04d}" for n in range(1, 49)]
    assert str(other) == "H29.21.6-260214-0001"
