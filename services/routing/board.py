"""The accountability board: the figures of accountability.py for a period, as the API serves them, and as Prometheus
gauges for the current month (refreshed by a worker, since a scrape must not wait on the database)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry, Gauge

from services.routing import queries
from services.routing.accountability import AgencyFigures, Period, figures
from services.routing.handlers import RoutingContext
from shared.calendar.zone import ZONE, local
from shared.db import DATABASE_ERRORS, Connection
from shared.retry import keep_running


def as_dict(agency: AgencyFigures) -> dict[str, Any]:
    return {
        "agency": agency.agency,
        "received": agency.received,
        "in_progress": agency.in_progress,
        "finished": agency.finished,
        "on_time_rate": agency.on_time_rate,
        "supplements_requested": agency.supplements_requested,
        "second_supplement_requests": agency.second_supplement_requests,
        "apologies": agency.apologies,
        "step_hours": agency.step_hours,
        "satisfaction": {
            "dossiers": agency.satisfaction_dossiers,
            "counted_against": agency.satisfaction_counted_against,
            "index": agency.satisfaction_index,
        },
    }


async def board_of(ctx: RoutingContext, conn: Connection, period: Period) -> list[dict[str, Any]]:
    since = datetime.combine(period.first_day, time(), ZONE)
    inputs = await queries.accountability_inputs(conn, since)
    board = figures(inputs, period, ctx.clock.now(), ctx.calendar(), ctx.near_due_window_hours)
    return [as_dict(agency) for agency in board.values()]


def this_month(today: date) -> Period:
    following = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return Period(today.replace(day=1), date.fromordinal(following.toordinal() - 1))


@dataclass
class BoardGauges:
    """`lienthong_agency_steps{agency, figure}` and friends, for the current month, every `interval_s`."""

    ctx: RoutingContext
    pool: asyncpg.Pool
    interval_s: float
    registry: CollectorRegistry

    def __post_init__(self) -> None:
        self.steps = Gauge(
            "lienthong_agency_steps", "Steps of an agency this month, by figure", ["agency", "figure"],
            registry=self.registry,
        )  # fmt: skip
        self.rates = Gauge(
            "lienthong_agency_rate", "On-time rate and 766 satisfaction index this month", ["agency", "figure"],
            registry=self.registry,
        )  # fmt: skip

    async def run(self) -> None:
        await keep_running(self._run, event="board.restarting", errors=DATABASE_ERRORS)

    async def _run(self) -> None:
        while True:
            await self.ctx.rules.loaded.wait()
            async with self.pool.acquire() as conn:
                board = await board_of(self.ctx, conn, this_month(local(self.ctx.clock.now()).date()))
            for agency in board:
                code = agency["agency"]
                for figure in ("received", "supplements_requested", "second_supplement_requests", "apologies"):
                    self.steps.labels(code, figure).set(agency[figure])
                for group in ("in_progress", "finished"):
                    for figure, count in agency[group].items():
                        self.steps.labels(code, f"{group}_{figure}").set(count)
                for figure, rate in (
                    ("on_time", agency["on_time_rate"]),
                    ("satisfaction", agency["satisfaction"]["index"]),
                ):
                    if rate is not None:
                        self.rates.labels(code, figure).set(rate)
            await asyncio.sleep(self.interval_s)
