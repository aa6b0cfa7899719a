"""The operators' command against routing as a separate process, on the real broker and database: `tail` with its
filters (and following live until Ctrl-C), a dossier's `timeline`, the group's `lag`, `topics describe`; dead letters
made by a malformed record and by an event naming a procedure version not published yet, listed, shown, discarded,
and replayed once the version is published (the dossier's parked event then applied); `blocked`; the admin
endpoints' 401 and 403; and clear failures when the broker or a service does not answer."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import uuid
from asyncio.subprocess import PIPE
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.events.catalogue import intake
from shared.events.catalogue.common import Actor, StaffRole, Via
from shared.rules.publish import publish
from shared.settings import KafkaSettings
from tests.infrastructure import REPO
from tests.support.cli import lienthong, lienthong_command
from tests.support.driver import INTAKE, ROUTING, Dossier
from tests.support.messaging import eventually
from tests.support.routing import RoutingDriver, procedure_version

DESK, WARD = "H29.101.1", "H29.101"
ENDPOINTS = [("GET", "/operations/dead-letters"), ("GET", "/operations/dead-letters/1"),
             ("POST", "/operations/dead-letters/1/replay"), ("POST", "/operations/dead-letters/1/discard"),
             ("GET", "/operations/blocked")]  # fmt: skip


@pytest.fixture
def operator(
    driver: RoutingDriver, routing: tuple[str, Path], infrastructure_env: dict[str, str], tmp_path: Path
) -> dict[str, str]:
    """The environment an operator's shell would have for this routing: its URL, the broker, an admin token."""
    token = driver.token(WARD, "admin")["Authorization"].removeprefix("Bearer ")
    return {"ROUTING_URL": routing[0], "KAFKA_BOOTSTRAP_SERVERS": infrastructure_env["KAFKA_BOOTSTRAP_SERVERS"],
           "LIENTHONG_ADMIN_TOKEN": token, "LIENTHONG_HOME": str(tmp_path)}  # fmt: skip


def run(operator: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return lienthong(Path(operator["LIENTHONG_HOME"]), *args, env=operator)


def ok(operator: dict[str, str], *args: str) -> Any:
    """The JSON document a successful `lienthong <args> --json` prints."""
    done = run(operator, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


async def test_tail_timeline_lag_and_topics(driver: RoutingDriver, operator: dict[str, str]) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    driver.set_clock(datetime(2026, 12, 2, 2, tzinfo=UTC))  # 09:00 in Vietnam, and it stays
    dossier = await driver.accept("1.001193", 1, DESK, datetime(2026, 12, 2, 9, tzinfo=UTC))
    other = await driver.accept("1.001193", 1, "H29.103.1", datetime(2026, 12, 2, 9, tzinfo=UTC))

    types = ["--type", "dossier.accepted", "--type", "dossier.processing-started", "--type", "step.transferred"]
    mine = run(operator, "tail", "--from-beginning", "--dossier", dossier.code, *types, "--count", "3", "--json")
    assert mine.returncode == 0, mine.stderr
    events = json_lines(mine.stdout)
    assert {(e["type"], e["topic"], e["seq"]) for e in events} == {
        ("dossier.accepted", INTAKE, 1), ("dossier.processing-started", ROUTING, 1),
        ("step.transferred", ROUTING, 2)}  # fmt: skip
    assert {e["dossier_code"] for e in events} == {dossier.code}
    # The topics are shared with the tests before, whose dossiers are of ward H29.101 too: the agency filter is
    # shown on the other ward's dossier, the one of this run.
    started = run(operator, "tail", "--from-time", before.isoformat(), "--type", "dossier.processing-started",
                  "--agency", "H29.103", "--count", "1")  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert other.code in started.stdout
    assert dossier.code not in started.stdout
    assert "dossier.processing-started" in started.stdout
    assert "status=2->4" in started.stdout
    assert "agency=H29.103." in started.stdout
    from_offset = ok(operator, "tail", "--topic", INTAKE, "--from-offset", "0", "--dossier", other.id, "--count", "1")
    assert (from_offset["type"], from_offset["dossier_code"]) == ("dossier.accepted", other.code)

    timeline = ok(operator, "timeline", dossier.code)
    assert timeline["dossier_id"] == dossier.id
    topics = [(e["topic"], e["type"]) for e in timeline["events"]]
    assert (INTAKE, "dossier.accepted") in topics
    assert (ROUTING, "dossier.processing-started") in topics
    assert [e["time"] for e in timeline["events"]] == sorted(e["time"] for e in timeline["events"])
    said = run(operator, "timeline", dossier.code)
    assert said.stdout.startswith(f"dossier {dossier.code} ({dossier.id}): {len(topics)} events")
    unknown = run(operator, "timeline", "NO-SUCH-CODE")
    assert unknown.returncode == 1
    assert "no event of dossier NO-SUCH-CODE" in unknown.stderr

    async def caught_up() -> bool:
        lags = await asyncio.to_thread(ok, operator, "lag")
        group = next(g for g in lags["groups"] if g["group"] == "lienthong.routing")
        on_intake = [p for p in group["partitions"] if p["topic"] == INTAKE and p["end"]]
        return bool(on_intake) and all(p["committed"] == p["end"] and p["lag"] == 0 for p in on_intake)

    await eventually(caught_up, what="routing's committed offsets at the end of the intake topic")
    assert "lienthong.routing  lag" in run(operator, "lag").stdout
    described = {t["name"]: t for t in ok(operator, "topics", "describe")["topics"]}
    assert len(described[INTAKE]["partitions"]) == 12
    assert described[INTAKE]["records"] >= 2
    assert described[INTAKE]["config"]["retention.ms"] == "-1"


async def test_tail_follows_live_until_ctrl_c(driver: RoutingDriver, operator: dict[str, str]) -> None:
    command, env = lienthong_command(Path(operator["LIENTHONG_HOME"]), operator)
    tail = await asyncio.create_subprocess_exec(*command, "tail", "--type", "dossier.accepted", "--json", env=env,
                                                cwd=REPO, stdout=PIPE, stderr=PIPE)  # fmt: skip
    assert tail.stderr is not None
    assert tail.stdout is not None
    try:
        while b"following" not in (line := await tail.stderr.readline()):
            assert line, "tail ended before following"
        dossier = await driver.publish_accepted("1.001193", 1, DESK, datetime(2026, 12, 2, 9, tzinfo=UTC))
        seen = json.loads(await asyncio.wait_for(tail.stdout.readline(), timeout=30))
        assert (seen["type"], seen["dossier_code"], seen["seq"]) == ("dossier.accepted", dossier.code, 1)
    finally:
        tail.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(tail.wait(), timeout=30) == 0


def withdrawal() -> intake.DossierWithdrawalRequested:
    actor = Actor(staff_id=f"reception@{DESK}", agency_code=DESK, role=StaffRole.RECEPTION)
    at = datetime(2026, 12, 2, 10, tzinfo=UTC)
    return intake.DossierWithdrawalRequested(reason="Không còn nhu cầu", via=Via.DESK, requested_at=at, actor=actor)


async def dead_letter_of(operator: dict[str, str], dossier_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def listed() -> bool:
        groups = (await asyncio.to_thread(ok, operator, "dlq", "list", "--service", "routing"))["groups"]
        found[:] = [d for d in groups[0]["dead_letters"] if d["dossier_id"] == dossier_id]
        return bool(found)

    await eventually(listed, what=f"a dead letter of {dossier_id} in routing")
    return found[0]


async def test_a_malformed_record_is_listed_shown_and_discarded(
    driver: RoutingDriver, operator: dict[str, str]
) -> None:
    key = str(uuid.uuid4())
    await driver.producer.send_and_wait(INTAKE, b"{not json", key=key.encode(), headers=[("ce_type", b"broken")])
    letter = await dead_letter_of(operator, key)
    assert letter["group"] == "lienthong.routing"
    assert letter["topic"] == INTAKE
    assert "malformed event" in letter["error"]
    shown = ok(operator, "dlq", "show", str(letter["id"]), "--service", "routing")
    assert shown["data"] == "{not json"
    blocked = ok(operator, "blocked", "--service", "routing")["groups"][0]["blocked"]
    assert key in [b["dossier_id"] for b in blocked]

    refused = run(operator, "dlq", "replay", str(letter["id"]), "--service", "routing")
    assert refused.returncode == 1
    assert "409" in refused.stderr
    assert "discard it instead" in refused.stderr
    discarded = run(operator, "dlq", "discard", str(letter["id"]), "--service", "routing")
    assert discarded.returncode == 0, discarded.stderr
    assert f"dead letter {letter['id']} of lienthong.routing discarded" in discarded.stdout
    listed = ok(operator, "dlq", "list", "--service", "routing")["groups"][0]["dead_letters"]
    assert letter["id"] not in [d["id"] for d in listed]
    everything = ok(operator, "dlq", "list", "--service", "routing", "--all")["groups"][0]["dead_letters"]
    assert next(d for d in everything if d["id"] == letter["id"])["resolution"] == "discarded"
    again = run(operator, "dlq", "discard", str(letter["id"]), "--service", "routing")
    assert again.returncode == 1
    assert "already discarded" in again.stderr
    missing = run(operator, "dlq", "show", "987654321", "--service", "routing")
    assert missing.returncode == 1
    assert "404 no dead letter 987654321 in group lienthong.routing" in missing.stderr


async def test_a_dead_letter_replayed_once_its_cause_is_fixed_releases_the_parked_events(
    driver: RoutingDriver, operator: dict[str, str], kafka_settings: KafkaSettings
) -> None:
    driver.set_clock(datetime(2026, 12, 2, 2, tzinfo=UTC))  # 09:00 in Vietnam, and it stays
    unpublished = 100_000 + int(time.time()) % 100_000  # a version no earlier run published
    dossier = await driver.publish_accepted("1.001193", 1, DESK, datetime(2026, 12, 2, 9, tzinfo=UTC),
                                            named_version=unpublished)  # fmt: skip
    letter = await dead_letter_of(operator, dossier.id)
    assert letter["dossier_code"] == dossier.code
    assert f"v{unpublished}" in letter["error"]
    await driver.publish(Dossier(dossier.id, dossier.code, DESK), withdrawal(), INTAKE)

    async def parked_behind() -> bool:
        groups = (await asyncio.to_thread(ok, operator, "blocked", "--service", "routing"))["groups"]
        return any(b["dossier_code"] == dossier.code and b["parked"] == 1 for g in groups for b in g["blocked"])

    await eventually(parked_behind, what="the withdrawal parked behind the dead letter")
    human = run(operator, "blocked", "--service", "routing")
    assert f"{dossier.code}  since" in human.stdout
    assert "1 parked" in human.stdout

    await publish(kafka_settings, [procedure_version(unpublished)])  # the cause, fixed

    async def replayed() -> bool:  # once routing has loaded the version just published
        done = await asyncio.to_thread(run, operator, "dlq", "replay", str(letter["id"]), "--service", "routing")
        return done.returncode == 0 and "replayed (applied)" in done.stdout

    await eventually(replayed, what="the dead letter replayed")
    events = await driver.events(dossier, "dossier.processing-started", "dossier.withdrawn")
    assert [e.dossierseq for e in events] == sorted(e.dossierseq for e in events)
    assert not any(
        b["dossier_code"] == dossier.code
        for b in ok(operator, "blocked", "--service", "routing")["groups"][0]["blocked"]
    )


async def test_the_admin_endpoints_take_an_admin_token(driver: RoutingDriver) -> None:
    admin = driver.token(WARD, "admin")
    for method, path in ENDPOINTS:
        assert (await driver.http.request(method, path)).status_code == 401, path
        for role in ("reception", "processing", "head"):
            answer = await driver.http.request(method, path, headers=driver.token(DESK, role))
            assert answer.status_code == 403, (path, role, answer.text)
            assert "it takes admin" in answer.json()["detail"]
    # A path the e2e security test fills with a UUID: still 401 first, not a validation error.
    assert (await driver.http.get(f"/operations/dead-letters/{uuid.uuid4()}")).status_code == 401
    assert (await driver.http.get("/operations/dead-letters", headers=admin)).status_code == 200
    assert (await driver.http.get("/operations/blocked", headers=admin)).status_code == 200


def test_an_unreachable_broker_or_service_is_named(operator: dict[str, str]) -> None:
    away = {**operator, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "ROUTING_URL": "http://127.0.0.1:1"}
    for args in (["lag"], ["tail", "--count", "1"], ["timeline", "X"], ["topics", "describe"]):
        failed = lienthong(Path(away["LIENTHONG_HOME"]), *args, env=away)
        assert failed.returncode == 1, args
        assert "no Kafka broker answers at 127.0.0.1:1" in failed.stderr
        assert "make up" in failed.stderr
    failed = lienthong(Path(away["LIENTHONG_HOME"]), "dlq", "list", "--service", "routing", env=away)
    assert failed.returncode == 1
    assert "routing does not answer at http://127.0.0.1:1" in failed.stderr
    usage = lienthong(Path(away["LIENTHONG_HOME"]), "dlq", "replay", "--service", "routing", env=away)
    assert usage.returncode == 2
    assert "give the dead letter's id" in usage.stderr
