"""The benchmark's arithmetic (bench/, `make bench`), which no run checks: the percentiles and sustained rates its
lines print, the hops it reads from the events, the counts per dossier and the floor made of them, when it stops
raising the load, and the keys of its JSON line. The benchmark itself is never part of the suite."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.floor import Counters, FloorRates, PerDossier, floor_per_s, per_dossier, readers_of
from bench.hops import (
    ACCEPT_TO_ROUTED,
    ROUTED_TO_NOTIFIED,
    Figures,
    Timeline,
    figures,
    percentile,
    record_event,
    sustained_rate,
)
from bench.load import Statuses
from bench.report import REQUIRED_KEYS, Measured, latency_level, stop_reason, summary, write_results
from shared.events.envelope import Envelope
from tests.support.messaging import envelope
from tests.support.topics import CONTACTS, INTAKE, NOTIFICATION, POSTAL, ROUTING

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def test_a_percentile_is_a_measured_value_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (50.0, 99.0, 100.0)
    assert percentile([7.0, 3.0], 0.99) == 7.0
    assert percentile([3.0], 0.5) == 3.0
    assert percentile([], 0.5) is None


def test_the_sustained_rate_is_the_offered_one_whatever_the_latency_and_the_capacity_under_a_backlog() -> None:
    arrivals = [i / 4 for i in range(120)]  # 4 a second for 30 s
    assert sustained_rate(arrivals) == pytest.approx(4.0)
    assert sustained_rate(at + 9.5 for at in arrivals) == pytest.approx(4.0), "a constant latency changes nothing"
    # A system that finishes one every 0.4 s whatever comes, a backlog building: its 2.5/s, not the offered 4/s.
    assert sustained_rate(3 + 0.4 * i for i in range(len(arrivals))) == pytest.approx(2.5)
    assert sustained_rate([5.0]) == sustained_rate([5.0, 5.0, 5.0]) == 0.0


def told(dossier: str, channel: str, at: datetime, cause: str = "dossier.result-ready") -> Envelope:
    data = {"channel": channel, "causing_event_type": cause}
    return dataclasses.replace(envelope("notification.sent", dossier, 1, data), time=at)


def test_a_dossiers_hops_come_from_its_events_first_sightings_and_both_channels() -> None:
    dossier, timelines = str(uuid.uuid4()), dict[str, Timeline]()
    ms = timedelta(milliseconds=1)
    events = [
        (dataclasses.replace(envelope("dossier.accepted", dossier, 1), time=T0), T0 + 20 * ms),
        (dataclasses.replace(envelope("dossier.processing-started", dossier, 1), time=T0 + 80 * ms), T0),
        (dataclasses.replace(envelope("dossier.processing-started", dossier, 1), time=T0 + 900 * ms), T0),  # repeat
        (dataclasses.replace(envelope("dossier.result-ready", dossier, 5), time=T0 + 5000 * ms), T0),
        (told(dossier, "sms", T0 + 5300 * ms, cause="dossier.accepted"), T0),  # of another event
        (told(dossier, "sms", T0 + 5400 * ms), T0),
        (told(dossier, "email", T0 + 5700 * ms), T0),
    ]
    for event, published in events:
        record_event(timelines, event, published.timestamp())
    timeline = timelines[dossier]
    assert timeline.published == (T0 + 20 * ms).timestamp()
    assert timeline.hop_s(ACCEPT_TO_ROUTED) == pytest.approx(0.08)
    assert timeline.hop_s(ROUTED_TO_NOTIFIED) == pytest.approx(0.7), "notified once told by SMS and by email"


async def test_the_workload_waits_for_a_status_on_the_events_the_bench_follows() -> None:
    dossier, other, statuses = str(uuid.uuid4()), str(uuid.uuid4()), Statuses()
    waiting = asyncio.create_task(statuses.reached(dossier, 9, within_s=5))
    statuses.record(envelope("dossier.result-ready", other, 5, {"status_from": 4, "status_to": 9}))
    statuses.record(envelope("dossier.result-ready", dossier, 5, {"status_from": 4, "status_to": 9}))
    assert await waiting, "woken by the event, long before its 5 s"
    statuses.record(envelope("dossier.result-returned", dossier, 6, {"status_from": 9, "status_to": 10}))
    assert await statuses.reached(dossier, 9, within_s=0), "a status the dossier has been in stays reached"
    assert await statuses.reached(dossier, 10, within_s=0)
    assert not await statuses.reached(dossier, 8, within_s=0.01)
    assert not await statuses.reached(str(uuid.uuid4()), 10, within_s=0.01)


def test_a_levels_figures_leave_out_what_is_not_measured() -> None:
    done = [Timeline(accepted=i, published=i + 0.01, routed=i + 0.05, result_ready=i + 4, notified=i + 4.5)
            for i in range(20)]  # fmt: skip
    waiting = Timeline(accepted=21.0, published=21.01)
    level = figures([*done, waiting])
    assert level.notified == 20
    assert level.dossiers_per_s == pytest.approx(1.0)
    assert level.p50_ms[ACCEPT_TO_ROUTED] == pytest.approx(50.0)
    assert level.p99_ms[ROUTED_TO_NOTIFIED] == pytest.approx(500.0)


def test_the_counts_per_dossier_leave_out_the_idle_stacks_background_and_count_each_reading_group() -> None:
    idle = (Counters(0, {"intake": 0, "routing": 0}, {}, {"kafka": 1.0}),
            Counters(10, {"intake": 100, "routing": 50}, {}, {"kafka": 1.5}))  # fmt: skip
    ended = Counters(120, {"intake": 3200, "routing": 2600}, {INTAKE: 105, ROUTING: 300, NOTIFICATION: 200},
                     {"kafka": 17.0})  # fmt: skip
    run = (Counters(20, {"intake": 200, "routing": 100}, {INTAKE: 5, ROUTING: 0}, {"kafka": 2.0}), ended)
    per = per_dossier(idle, run, dossiers=100)
    # 3000 made in 100 s by intake, 1000 of them its idle 10/s; 2500 by routing, 500 of them idle.
    assert per.transactions_by_service == {"intake": 20.0, "routing": 20.0}
    assert per.transactions == 40.0
    # 15 s of CPU in 100 s, 5 of them the idle broker's 0.05 s a second.
    assert per.cpu_ms == {"kafka": pytest.approx(100.0)}
    assert per.produced == (100 + 300 + 200) / 100
    assert per.consumed == (100 * readers_of(INTAKE) + 300 * readers_of(ROUTING) + 200 * readers_of(NOTIFICATION)) / 100


def test_every_lifecycle_topic_is_read_by_the_groups_of_the_design() -> None:
    assert readers_of(INTAKE) == 3  # routing, notification, postal
    assert readers_of(CONTACTS) == 2  # notification, postal
    assert readers_of(ROUTING) == 3  # intake, notification, postal
    assert readers_of(POSTAL) == 3  # intake, routing, notification
    assert readers_of(NOTIFICATION) == 2  # intake, routing
    assert readers_of("lienthong.intake.dlq") == 0


def test_the_floor_adds_the_times_of_a_dossiers_bare_round_trips() -> None:
    per = PerDossier({"intake": 60.0, "routing": 40.0}, produced=10.0, consumed=30.0, cpu_ms={})
    rates = FloorRates(transactions_per_s=1000.0, produced_per_s=1000.0, consumed_per_s=3000.0)
    # 100 transactions take 0.1 s, 10 records produced 0.01 s, 30 consumed 0.01 s: 0.12 s a dossier.
    assert floor_per_s(per, rates) == pytest.approx(1 / 0.12)
    assert floor_per_s(PerDossier({}, 0.0, 0.0, {}), rates) == 0.0


def level(
    offered: float, dossiers_per_s: float, p99_ms: float = 100.0, unfinished: int = 0, arrived: float | None = None
) -> Measured:
    hops = {ACCEPT_TO_ROUTED: p99_ms, ROUTED_TO_NOTIFIED: 900.0}
    shown = Figures(dossiers_per_s, offered, {ACCEPT_TO_ROUTED: p99_ms / 2, ROUTED_TO_NOTIFIED: 500.0}, hops, 30)
    return Measured(offered, offered if arrived is None else arrived, shown, handed_in=30, failed=0,
                    unfinished=unfinished)  # fmt: skip


def test_the_load_rises_while_the_rate_grows_and_the_latency_holds() -> None:
    assert stop_reason([level(1, 1.0)], 1.1, 5000, 0.2) is None
    assert stop_reason([level(1, 1.0), level(2, 2.0)], 1.1, 5000, 0.2) is None
    assert "grew less" in (stop_reason([level(4, 4.0), level(8, 4.2)], 1.1, 5000, 0.2) or "")
    # Few arrivals by chance at 4/s: the rate kept up with them, and the next level will say more.
    assert stop_reason([level(3, 3.5, arrived=3.3), level(4, 3.6, arrived=3.9)], 1.1, 5000, 0.2) is None
    assert "p99" in (stop_reason([level(1, 1.0), level(2, 2.0, p99_ms=6000)], 1.1, 5000, 0.2) or "")
    assert "did not finish" in (stop_reason([level(1, 1.0), level(2, 2.0, unfinished=10)], 1.1, 5000, 0.2) or "")


def test_the_headline_latency_is_read_at_half_the_sustained_rate() -> None:
    levels = [level(1, 1.0), level(2, 2.0), level(4, 3.9), level(8, 4.5)]
    assert latency_level(levels, 4.5).offered_per_s == 2
    assert latency_level(levels[:1], 1.0).offered_per_s == 1, "none at half: the lowest"


def test_the_json_line_holds_what_issue_11_asks_and_the_plot_is_written(tmp_path: Path) -> None:
    levels = [level(1, 1.0), level(2, 2.0), level(4, 3.0)]
    per = PerDossier({"intake": 60.0, "routing": 40.0}, produced=10.0, consumed=30.0, cpu_ms={"intake": 80.0})
    rates = FloorRates(1000.0, 1000.0, 3000.0)
    rss = {"intake": 120.0, "routing": 90.0, "notification": 95.0, "postal": 80.0}
    result = summary(levels, per, 12.0, rates, rss, {"commit": "0123456789abcdef"})
    assert set(REQUIRED_KEYS) <= set(result)
    assert result["dossiers_per_s"] == 3.0
    assert result["ratio"] == pytest.approx(3.0 / result["floor_per_s"], rel=1e-2)
    assert set(result["p99_ms"]) == {ACCEPT_TO_ROUTED, ROUTED_TO_NOTIFIED}
    assert result["rss_mb"] == rss
    assert [row["offered_per_s"] for row in result["levels"]] == [1, 2, 4]
    results, picture = write_results(result, tmp_path)
    assert json.loads(results.read_text()) == result
    assert picture.read_bytes().startswith(b"\x89PNG")
