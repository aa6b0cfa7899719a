"""The load: dossiers arriving open-loop — Poisson arrivals at a set rate, whatever the system answers — each driven
through the public and staff APIs by the fault tier's workload (tests/support/workload.py), while the topics are
followed to time each dossier's hops."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass

from bench.hops import Timeline, record_event
from shared.events.envelope import Envelope, MalformedEventError
from shared.kafka.reading import follow
from shared.settings import KafkaSettings
from tests.support.topics import TOPICS
from tests.support.workload import FINISHED, Driven, Kind, Workload

# The realistic mix: the ward's birth registration at the counter, online and returned by post, and the
# interagency child package.
MIX = [Kind.COUNTER] * 3 + [Kind.ONLINE] * 3 + [Kind.POSTAL_RETURN] * 2 + [Kind.INTERAGENCY] * 2
PROGRESS_EVERY_S = 5.0


class Statuses:
    """The statuses each dossier has been in, from the `status_to` of the events the load follows anyway. The
    workload waits on these rather than asking routing every second: the load generator's polling is no part of the
    pipeline the bench measures (docs/performance.md has what it cost)."""

    def __init__(self) -> None:
        self._reached: dict[tuple[str, int], asyncio.Event] = {}

    def record(self, envelope: Envelope) -> None:
        status = (envelope.data or {}).get("status_to")
        if isinstance(status, int):
            self._event(envelope.dossierid, status).set()

    async def reached(self, dossier_id: str, status: int, within_s: float) -> bool:
        reached = self._event(dossier_id, status)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reached.wait(), within_s)
        return reached.is_set()

    def _event(self, dossier_id: str, status: int) -> asyncio.Event:
        return self._reached.setdefault((dossier_id, status), asyncio.Event())


@dataclass(frozen=True)
class Level:
    """One load level as driven: its dossiers, and how many had not finished when it ended."""

    offered_per_s: float
    dossiers: list[Driven]
    failed: int  # the workload gave up on them (a call refused, or no progress within its patience)
    unfinished: int  # still on their way when the level's drain time was up


class Load:
    def __init__(self, workload: Workload, statuses: Statuses, kafka: KafkaSettings, seed: int,
                 first_number: int) -> None:  # fmt: skip
        self.workload = workload
        self.statuses = statuses
        self.kafka = kafka
        self.rng = random.Random(seed)
        self.next_number = first_number
        self.timelines: dict[str, Timeline] = {}
        self.driving: dict[int, asyncio.Task[Driven]] = {}  # by dossier number

    async def follow_topics(self, ready: asyncio.Event) -> None:
        """Runs until cancelled: every event of the topics, from now on, into the dossiers' timelines."""
        async for record in follow(self.kafka, TOPICS, on_ready=ready.set):
            try:
                envelope = Envelope.from_record(record.key, record.value, list(record.headers))
            except MalformedEventError:
                continue
            record_event(self.timelines, envelope, record.timestamp / 1000)
            self.statuses.record(envelope)

    def hand_in(self, kind: Kind | None = None) -> Driven:
        dossier = Driven(self.next_number, kind or self.rng.choice(MIX))
        self.next_number += 1
        self.driving[dossier.number] = asyncio.create_task(self.workload.drive(dossier))
        return dossier

    def failed(self, dossier: Driven) -> bool:
        task = self.driving[dossier.number]
        return task.done() and (task.cancelled() or task.exception() is not None)

    def notified(self, dossier: Driven) -> bool:
        timeline = self.timelines.get(dossier.id) if dossier.id else None
        return timeline is not None and timeline.notified is not None

    def timeline_of(self, dossier: Driven) -> Timeline:
        return self.timelines.get(dossier.id, Timeline())

    async def until_notified(self, dossiers: list[Driven], timeout_s: float, label: str) -> None:
        """Until each dossier's applicant is notified of the result (or the workload gave up on it)."""
        deadline = time.monotonic() + timeout_s
        reported = time.monotonic()
        while time.monotonic() < deadline:
            if all(self.notified(d) or self.failed(d) for d in dossiers):
                return
            if time.monotonic() - reported >= PROGRESS_EVERY_S:
                self.progress(dossiers, label)
                reported = time.monotonic()
            await asyncio.sleep(0.25)

    async def level(self, offered_per_s: float, duration_s: float, drain_s: float) -> Level:
        """Poisson arrivals at `offered_per_s` for `duration_s`, then up to `drain_s` for their results."""
        label = f"{offered_per_s:g}/s"
        dossiers: list[Driven] = []
        started = time.monotonic()
        reported = started
        arrival = self.rng.expovariate(offered_per_s)
        while arrival < duration_s:
            # Arrivals keep their schedule even when the loop falls behind: open loop, late ones catch up at once.
            await asyncio.sleep(max(started + arrival - time.monotonic(), 0))
            dossiers.append(self.hand_in())
            arrival += self.rng.expovariate(offered_per_s)
            if time.monotonic() - reported >= PROGRESS_EVERY_S:
                self.progress(dossiers, label)
                reported = time.monotonic()
        await self.until_notified(dossiers, drain_s, label)
        failed = sum(self.failed(d) for d in dossiers)
        unfinished = sum(not self.notified(d) and not self.failed(d) for d in dossiers)
        return Level(offered_per_s, dossiers, failed, unfinished)

    def progress(self, dossiers: list[Driven], label: str) -> None:
        waiting = Counter(d.waiting_for for d in dossiers if not self.notified(d) and d.waiting_for != FINISHED)
        notified = sum(self.notified(d) for d in dossiers)
        print(f"  {time.strftime('%H:%M:%S')} {label}: {len(dossiers)} handed in, {notified} notified, "
              f"{sum(self.failed(d) for d in dossiers)} failed; waiting for {dict(waiting.most_common(3))}",
              file=sys.stderr, flush=True)  # fmt: skip

    async def finish(self, timeout_s: float) -> int:
        """Let every dossier's drive end (hand-overs, deliveries by post); cancel what is left after `timeout_s`.
        Returns how many were cancelled."""
        pending = [task for task in self.driving.values() if not task.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout_s)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
            return len(still)
        return 0

    def failures(self) -> Counter[str]:
        """Why the failed dossiers failed, by the kind of error (the first words of each)."""
        return Counter(
            f"{type(error).__name__}: {str(error)[:80]}"
            for task in self.driving.values()
            if task.done() and not task.cancelled() and (error := task.exception()) is not None
        )
