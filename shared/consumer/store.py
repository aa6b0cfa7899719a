"""All SQL of the consumer runner."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.db import Connection


@dataclass(frozen=True)
class StoredRecord:
    """A Kafka record as kept in the database, to be applied later (parked) or replayed (dead letter)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    value: bytes | None

    def headers_json(self) -> str:
        return json.dumps([[name, raw.decode(errors="replace")] for name, raw in self.headers])

    @classmethod
    def from_row(cls, row: Any) -> StoredRecord:
        headers = tuple((name, value.encode()) for name, value in json.loads(row["headers"]))
        return cls(row["topic"], row["partition"], row["offset"], row["key"], headers, row["value"])


@dataclass(frozen=True)
class DossierState:
    """What the runner needs to know of a dossier before applying one of its events."""

    last_seq: int  # the last applied sequence of the event's stream
    blocked: bool  # a dead letter of the dossier waits for an operator
    parked: bool  # some of its events wait (for a gap, a precondition or the block)


async def lock_dossier_state(conn: Connection, stream: str, dossier_id: str) -> DossierState:
    """The dossier's state for this stream, its sequence row locked until the transaction ends (serialises one
    dossier's stream), in one round trip: this runs for every event."""
    row = await conn.fetchrow(
        """WITH applied AS (
               INSERT INTO consumer_applied (stream, dossier_id, last_seq) VALUES ($1, $2, 0)
               ON CONFLICT (stream, dossier_id) DO UPDATE SET last_seq = consumer_applied.last_seq
               RETURNING last_seq)
           SELECT (SELECT last_seq FROM applied) AS last_seq,
                  EXISTS (SELECT 1 FROM consumer_blocked WHERE dossier_id = $2) AS blocked,
                  EXISTS (SELECT 1 FROM consumer_parked WHERE dossier_id = $2) AS parked""",
        stream,
        dossier_id,
    )
    assert row is not None
    return DossierState(int(row["last_seq"]), row["blocked"], row["parked"])


async def pass_over(conn: Connection, stream: str, dossier_id: str, seq: int) -> tuple[bool, bool]:
    """An event the group does not act on only advances its stream's sequence: one autocommitted statement when it
    is the next one (else the runner takes the whole path: duplicate, gap, parking). Returns whether it advanced,
    and whether the dossier has parked events (which it may let go)."""
    row = await conn.fetchrow(
        """WITH advanced AS (
               UPDATE consumer_applied SET last_seq = $3
               WHERE stream = $1 AND dossier_id = $2 AND last_seq = $3 - 1 RETURNING 1),
           first AS (
               INSERT INTO consumer_applied (stream, dossier_id, last_seq) SELECT $1, $2, $3 WHERE $3 = 1
               ON CONFLICT DO NOTHING RETURNING 1)
           SELECT EXISTS (SELECT 1 FROM advanced) OR EXISTS (SELECT 1 FROM first) AS passed,
                  EXISTS (SELECT 1 FROM consumer_parked WHERE dossier_id = $2) AS parked""",
        stream,
        dossier_id,
        seq,
    )
    assert row is not None
    return bool(row["passed"]), bool(row["parked"])


async def lock_last_seq(conn: Connection, stream: str, dossier_id: str) -> int:
    """The last applied sequence, its row locked until the transaction ends (serialises one dossier)."""
    return (await lock_dossier_state(conn, stream, dossier_id)).last_seq


async def set_last_seq(conn: Connection, stream: str, dossier_id: str, seq: int) -> None:
    await conn.execute(
        "UPDATE consumer_applied SET last_seq = $3 WHERE stream = $1 AND dossier_id = $2", stream, dossier_id, seq
    )


async def park(conn: Connection, event_id: str, dossier_id: str, seq: int, reason: str, record: StoredRecord) -> None:
    await conn.execute(
        """INSERT INTO consumer_parked
               (event_id, stream, dossier_id, dossier_seq, reason, partition, "offset", key, headers, value)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (event_id) DO UPDATE SET reason = EXCLUDED.reason""",
        event_id, record.topic, dossier_id, seq, reason, record.partition, record.offset, record.key,
        record.headers_json(), record.value,
    )  # fmt: skip


async def parked_of(conn: Connection, dossier_id: str) -> list[StoredRecord]:
    rows = await conn.fetch(
        """SELECT stream AS topic, partition, "offset", key, headers, value FROM consumer_parked
           WHERE dossier_id = $1 ORDER BY stream, dossier_seq""",
        dossier_id,
    )
    return [StoredRecord.from_row(row) for row in rows]


async def unpark(conn: Connection, event_id: str) -> None:
    await conn.execute("DELETE FROM consumer_parked WHERE event_id = $1", event_id)


async def dossiers_waiting(conn: Connection, parked_for_s: float) -> list[str]:
    """Dossiers with events parked for a gap or a precondition for a while: retried by the maintenance, in case the
    event that let them go was applied by another member of the group while they were being parked."""
    rows = await conn.fetch(
        """SELECT DISTINCT dossier_id FROM consumer_parked
           WHERE reason <> 'blocked' AND parked_at < now() - make_interval(secs => $1)""",
        parked_for_s,
    )
    return [row["dossier_id"] for row in rows]


async def parked_too_long(conn: Connection, older_than_s: float) -> list[StoredRecord]:
    """Events parked for a precondition or a gap longer than allowed (blocked ones wait for an operator)."""
    rows = await conn.fetch(
        """SELECT stream AS topic, partition, "offset", key, headers, value FROM consumer_parked
           WHERE reason <> 'blocked' AND parked_at < now() - make_interval(secs => $1)""",
        older_than_s,
    )
    return [StoredRecord.from_row(row) for row in rows]


async def add_dead_letter(
    conn: Connection,
    record: StoredRecord,
    *,
    event_id: str | None,
    event_type: str | None,
    dossier_id: str | None,
    seq: int | None,
    error: str,
    attempts: int,
) -> int:
    dead_letter_id = await conn.fetchval(
        """INSERT INTO consumer_dead_letters (event_id, event_type, dossier_id, dossier_seq, topic, partition,
               "offset", key, headers, value, error, attempts)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id""",
        event_id, event_type, dossier_id, seq, record.topic, record.partition, record.offset, record.key,
        record.headers_json(), record.value, error, attempts,
    )  # fmt: skip
    if dossier_id is not None:
        await conn.execute(
            "INSERT INTO consumer_blocked (dossier_id, dead_letter_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            dossier_id,
            dead_letter_id,
        )
    return int(dead_letter_id)


@dataclass(frozen=True)
class DeadLetter:
    id: int
    event_id: str | None
    event_type: str | None
    dossier_id: str | None
    seq: int | None
    error: str
    attempts: int
    dead_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    record: StoredRecord

    @classmethod
    def from_row(cls, row: Any) -> DeadLetter:
        return cls(
            row["id"], row["event_id"], row["event_type"], row["dossier_id"], row["dossier_seq"], row["error"],
            row["attempts"], row["dead_at"], row["resolved_at"], row["resolution"], StoredRecord.from_row(row),
        )  # fmt: skip


async def open_dead_letter(conn: Connection, dead_letter_id: int) -> DeadLetter | None:
    row = await conn.fetchrow(
        "SELECT * FROM consumer_dead_letters WHERE id = $1 AND resolved_at IS NULL FOR UPDATE", dead_letter_id
    )
    return None if row is None else DeadLetter.from_row(row)


async def dead_letter(conn: Connection, dead_letter_id: int) -> DeadLetter | None:
    """A dead letter, resolved or not (for operators to look at)."""
    row = await conn.fetchrow("SELECT * FROM consumer_dead_letters WHERE id = $1", dead_letter_id)
    return None if row is None else DeadLetter.from_row(row)


async def dead_letters(conn: Connection, *, include_resolved: bool) -> list[DeadLetter]:
    rows = await conn.fetch(
        "SELECT * FROM consumer_dead_letters WHERE $1 OR resolved_at IS NULL ORDER BY id", include_resolved
    )
    return [DeadLetter.from_row(row) for row in rows]


@dataclass(frozen=True)
class Blocked:
    dossier_id: str
    blocked_at: datetime
    parked: int  # the dossier's later events waiting for the dead letter to be resolved
    dead_letter: DeadLetter


async def blocked_dossiers(conn: Connection) -> list[Blocked]:
    rows = await conn.fetch(
        """SELECT d.*, b.blocked_at,
                  (SELECT count(*) FROM consumer_parked p WHERE p.dossier_id = b.dossier_id) AS parked
           FROM consumer_blocked b JOIN consumer_dead_letters d ON d.id = b.dead_letter_id ORDER BY b.blocked_at"""
    )
    return [Blocked(row["dossier_id"], row["blocked_at"], row["parked"], DeadLetter.from_row(row)) for row in rows]


async def resolve_dead_letter(conn: Connection, dead_letter: DeadLetter, resolution: str) -> None:
    await conn.execute(
        "UPDATE consumer_dead_letters SET resolved_at = now(), resolution = $2 WHERE id = $1",
        dead_letter.id,
        resolution,
    )
    if dead_letter.dossier_id is None:
        return
    await conn.execute("DELETE FROM consumer_blocked WHERE dossier_id = $1", dead_letter.dossier_id)
    # Another unresolved dead letter of the same dossier keeps it blocked.
    await conn.execute(
        """INSERT INTO consumer_blocked (dossier_id, dead_letter_id)
           SELECT dossier_id, min(id) FROM consumer_dead_letters
           WHERE dossier_id = $1 AND resolved_at IS NULL GROUP BY dossier_id""",
        dead_letter.dossier_id,
    )
    await conn.execute(
        "UPDATE consumer_parked SET reason = 'gap' WHERE dossier_id = $1 AND reason = 'blocked' "
        "AND NOT EXISTS (SELECT 1 FROM consumer_blocked WHERE dossier_id = $1)",
        dead_letter.dossier_id,
    )


async def counts(conn: Connection) -> tuple[int, int, int]:
    """(parked events, blocked dossiers, unresolved dead letters)."""
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM consumer_parked) AS parked,
                  (SELECT count(*) FROM consumer_blocked) AS blocked,
                  (SELECT count(*) FROM consumer_dead_letters WHERE resolved_at IS NULL) AS dead"""
    )
    assert row is not None
    return int(row["parked"]), int(row["blocked"]), int(row["dead"])
