"""All of postal's SQL: shipments and the carrier's status events."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.postal.domain import CarrierStatus, Recorded, ShipmentState, Tracking, Verdict
from shared.db import Connection
from shared.events.catalogue.postal import Direction


@dataclass(frozen=True)
class ShipmentRow:
    id: uuid.UUID
    dossier_id: uuid.UUID
    dossier_code: str
    direction: Direction
    state: ShipmentState
    raw_code: int | None
    order_number: str
    tracking_number: str | None
    agency_code: str
    documents: list[dict[str, Any]]
    service_code: str
    fee_vnd: int
    cod_vnd: int
    weight_g: int
    attempts: int
    delivery_attempts: int


COLUMNS = """id, dossier_id, dossier_code, direction, state, raw_code, order_number, tracking_number, agency_code,
             documents, service_code, fee_vnd, cod_vnd, weight_g, attempts, delivery_attempts"""


def _shipment(record: Any) -> ShipmentRow:
    values = dict(record)
    values |= {"direction": Direction(values["direction"]), "state": ShipmentState(values["state"]),
               "documents": json.loads(values["documents"])}  # fmt: skip
    return ShipmentRow(**values)


async def add_shipment(conn: Connection, row: ShipmentRow, cause_event_id: str, now: datetime) -> bool:
    """False when the dossier already has its shipment in that direction: a redelivery adds nothing."""
    added = await conn.fetchval(
        f"""INSERT INTO shipments ({COLUMNS}, cause_event_id, created_at, next_attempt_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)
            ON CONFLICT (dossier_id, direction) DO NOTHING RETURNING true""",
        row.id, row.dossier_id, row.dossier_code, row.direction.value, row.state.value, row.raw_code,
        row.order_number, row.tracking_number, row.agency_code, json.dumps(row.documents), row.service_code,
        row.fee_vnd, row.cod_vnd, row.weight_g, row.attempts, row.delivery_attempts, uuid.UUID(cause_event_id), now,
    )  # fmt: skip
    return bool(added)


async def claim_orders(conn: Connection, now: datetime, stuck_after: timedelta, limit: int) -> list[ShipmentRow]:
    """Shipments whose order is due to be placed (again), marked in flight. One still in flight after
    `stuck_after` is a call whose process died: placed again with the same idempotency key, which the carrier
    recognises."""
    records = await conn.fetch(
        f"""UPDATE shipments SET in_flight_since = $1, attempts = attempts + 1
            WHERE id IN (
                SELECT id FROM shipments
                WHERE ordered_at IS NULL AND next_attempt_at <= $1
                  AND (in_flight_since IS NULL OR in_flight_since < $2)
                ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
            RETURNING {COLUMNS}""",
        now, now - stuck_after, limit,
    )  # fmt: skip
    return [_shipment(r) for r in records]


async def order_placed(conn: Connection, shipment_id: uuid.UUID, tracking_number: str, now: datetime) -> None:
    await conn.execute(
        """UPDATE shipments SET ordered_at = $3, tracking_number = $2, in_flight_since = NULL, next_attempt_at = NULL,
                  failure_code = NULL, last_report_at = coalesce(last_report_at, $3) WHERE id = $1""",
        shipment_id, tracking_number, now,
    )  # fmt: skip


async def order_not_placed(
    conn: Connection, shipment_id: uuid.UUID, failure_code: str | None, retry_at: datetime | None
) -> None:
    await conn.execute(
        """UPDATE shipments SET in_flight_since = NULL, failure_code = $2, next_attempt_at = $3 WHERE id = $1""",
        shipment_id, failure_code, retry_at,
    )  # fmt: skip


async def locked_shipment(
    conn: Connection, *, shipment_id: uuid.UUID | None = None, order_number: str | None = None, lock: bool = True
) -> ShipmentRow | None:
    """The shipment, locked until the transaction ends (unless `lock` is false, to read it)."""
    column, value = ("id", shipment_id) if shipment_id is not None else ("order_number", order_number)
    locking = " FOR UPDATE" if lock else ""
    record = await conn.fetchrow(f"SELECT {COLUMNS} FROM shipments WHERE {column} = $1{locking}", value)
    return _shipment(record) if record else None


async def tracking_of(conn: Connection, row: ShipmentRow) -> Tracking:
    """The shipment as domain.report sees it: its state and every status event recorded, in arrival order."""
    records = await conn.fetch(
        "SELECT event_id, code, at, reason, verdict FROM status_events WHERE shipment_id = $1 ORDER BY received_at",
        row.id,
    )
    history = tuple(
        Recorded(CarrierStatus(r["event_id"], r["code"], r["at"], r["reason"]), Verdict(r["verdict"])) for r in records
    )
    return Tracking(row.direction, row.state, row.raw_code, history)


async def record_status(
    conn: Connection, row: ShipmentRow, status: CarrierStatus, verdict: Verdict, after: Tracking, now: datetime
) -> None:
    await conn.execute(
        """INSERT INTO status_events (shipment_id, event_id, code, at, reason, verdict, received_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        row.id, status.event_id, status.code, status.at, status.reason, verdict.value, now,
    )  # fmt: skip
    await conn.execute(
        """UPDATE shipments SET state = $2, raw_code = $3, last_report_at = $4,
                  delivery_attempts = delivery_attempts + $5 WHERE id = $1""",
        row.id, after.state.value, after.raw_code, now,
        int(after.state is ShipmentState.DELIVERY_FAILED and row.state is not ShipmentState.DELIVERY_FAILED),
    )  # fmt: skip


async def heard_of(conn: Connection, shipment_id: uuid.UUID, now: datetime) -> None:
    await conn.execute("UPDATE shipments SET last_report_at = $2 WHERE id = $1", shipment_id, now)


async def quiet_shipments(conn: Connection, silent_since: datetime, limit: int) -> list[ShipmentRow]:
    """Placed shipments, not finished, the carrier has said nothing of since `silent_since`."""
    records = await conn.fetch(
        f"""SELECT {COLUMNS} FROM shipments
            WHERE ordered_at IS NOT NULL AND last_report_at < $1
              AND state NOT IN ('handed-to-agency', 'delivered', 'returned-to-agency', 'cancelled')
            ORDER BY last_report_at LIMIT $2""",
        silent_since, limit,
    )  # fmt: skip
    return [_shipment(r) for r in records]


async def counts(conn: Connection, stale_since: datetime) -> tuple[int, int]:
    """(shipments waiting for their order, open shipments the carrier has said nothing of since `stale_since`)."""
    row = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE ordered_at IS NULL AND next_attempt_at IS NOT NULL) AS waiting,
                  count(*) FILTER (WHERE ordered_at IS NOT NULL AND last_report_at < $1
                    AND state NOT IN ('handed-to-agency', 'delivered', 'returned-to-agency', 'cancelled')) AS stale
           FROM shipments""",
        stale_since,
    )
    assert row is not None
    return int(row["waiting"]), int(row["stale"])
