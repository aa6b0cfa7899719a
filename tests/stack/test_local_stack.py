"""The local stack itself (`make up`, `make status`, `make down`), on a stack of its own: own home folder,
own ports, driven through the same command the Makefile runs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.infrastructure import REPO
from tests.support.stack import StackCommand

SERVICES = ["intake", "routing", "notification", "postal"]
SIMULATORS = ["sms-gateway", "smtp-sink", "carrier"]  # the outside world notification and postal talk to
PARTS = ["postgres", "kafka", *SIMULATORS, *SERVICES, "console"]  # the web console: no database, no group


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackCommand]:
    command = StackCommand(tmp_path_factory.mktemp("stack") / "home", port_base=18000)
    result = command("up")
    assert result.returncode == 0, result.stdout + result.stderr
    yield command
    command("down")


def test_up_brings_every_part_to_ready_and_writes_the_addresses(stack: StackCommand) -> None:
    env = stack.env_file()
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert env["DATABASE_URL"] == "postgresql://lienthong@127.0.0.1:18432/postgres"
    for n, service in enumerate(SERVICES, start=1):
        assert env[f"{service.upper()}_URL"] == f"http://127.0.0.1:{18000 + n}"
        assert httpx.get(f"{env[f'{service.upper()}_URL']}/readyz", timeout=5).status_code == 200
        assert env[f"{service.upper()}_DATABASE_URL"].endswith(f"/lienthong_{service}")
    assert env["CONSOLE_URL"] == "http://127.0.0.1:18005"
    assert httpx.get(f"{env['CONSOLE_URL']}/readyz", timeout=5).status_code == 200
    assert "CONSOLE_DATABASE_URL" not in env
    for simulator in SIMULATORS:  # what the applicants received, for whoever checks
        assert httpx.get(env[f"{simulator.upper().replace('-', '_')}_MESSAGES_URL"], timeout=5).status_code == 200
    assert {row["state"] for row in stack.status().values()} == {"up"}


def test_a_staff_token_from_the_lienthong_command_is_accepted_by_every_service(stack: StackCommand) -> None:
    token = subprocess.run(
        [str(REPO / ".venv" / "bin" / "lienthong"), "staff", "token", "--agency", "H21.65", "--role", "reception",
         "--demo"],
        cwd=REPO, env=stack.env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    env = stack.env_file()
    for service in SERVICES:
        url = env[f"{service.upper()}_URL"]
        who = httpx.get(f"{url}/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert who.json() == {"staff_id": "reception@H21.65", "agency": "H21.65", "role": "reception", "demo": True}
        assert httpx.get(f"{url}/whoami", timeout=5).status_code == 401


def test_advancing_the_stack_clock_moves_every_service_at_once(stack: StackCommand) -> None:
    lienthong = str(REPO / ".venv" / "bin" / "lienthong")
    env = stack.env_file()
    try:
        subprocess.run([lienthong, "clock", "advance", "3d"], cwd=REPO, env=stack.env, check=True, capture_output=True)
        for service in SERVICES:
            seen = httpx.get(f"{env[f'{service.upper()}_URL']}/healthz", timeout=5).json()["clock"]
            ahead = datetime.fromisoformat(seen) - datetime.now(UTC)
            assert timedelta(days=3) - timedelta(seconds=30) < ahead < timedelta(days=3, seconds=30), service
    finally:
        subprocess.run([lienthong, "clock", "reset"], cwd=REPO, env=stack.env, check=True, capture_output=True)


def test_up_writes_demo_tokens_that_the_services_accept(stack: StackCommand) -> None:
    demo = json.loads((stack.home / "demo-tokens.json").read_text())
    roles = {(entry["agency"], entry["role"]) for entry in demo["tokens"]}
    assert ("H29.101.1", "reception") in roles
    assert any(role == "processing" for _, role in roles)
    assert any(role == "admin" for _, role in roles)
    reception = next(e["token"] for e in demo["tokens"] if e["role"] == "reception")
    who = httpx.get(f"{stack.env_file()['INTAKE_URL']}/whoami", headers={"Authorization": f"Bearer {reception}"})
    assert who.json()["demo"] is True


def test_a_second_up_changes_nothing(stack: StackCommand) -> None:
    before, env_before = stack.status(), stack.env_file()
    result = stack("up")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("already running") == len(PARTS)
    assert stack.status() == before
    assert stack.env_file() == env_before


def test_a_killed_service_shows_down_and_up_brings_it_back(stack: StackCommand) -> None:
    before = stack.status()
    os.kill(int(before["routing"]["pid"]), signal.SIGKILL)
    subprocess.run(["sleep", "0.5"], check=True)
    after_kill = stack.status()
    assert after_kill["routing"]["state"] == "down"
    assert all(after_kill[p]["state"] == "up" for p in PARTS if p != "routing")

    result = stack("up")
    assert result.returncode == 0, result.stderr
    assert "routing: ready" in result.stdout
    restarted = stack.status()
    assert restarted["routing"]["state"] == "up"
    assert restarted["routing"]["pid"] != before["routing"]["pid"]
    assert all(restarted[p]["pid"] == before[p]["pid"] for p in PARTS if p != "routing")
    assert httpx.get(f"{stack.env_file()['ROUTING_URL']}/readyz", timeout=5).status_code == 200


def test_status_prints_a_table_of_every_part(stack: StackCommand) -> None:
    result = stack("status")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["part", "state", "pid", "port", "address"]
    assert [line.split()[0] for line in lines[1:]] == PARTS


def test_a_taken_port_fails_before_anything_starts(tmp_path: Path) -> None:
    command = StackCommand(tmp_path / "home", port_base=19500)
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 19502))
        squatter.listen()
        result = command("up")
    assert result.returncode == 1
    assert "FAILED: routing: port 19502 is taken" in result.stderr
    assert "LIENTHONG_PORT_BASE" in result.stderr
    assert {row["state"] for row in command.status().values()} == {"down"}


def test_a_database_that_cannot_start_is_reported_with_its_log_and_nothing_is_left_running(
    tmp_path: Path,
) -> None:
    command = StackCommand(tmp_path / "home", port_base=21000)
    data = tmp_path / "home" / "postgres" / "data"
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("9\n")  # a data folder from another major version
    result = command("up")
    assert result.returncode == 1
    assert "FAILED: postgres: pg_ctl failed" in result.stderr
    assert f"log: {tmp_path / 'home' / 'logs' / 'postgres.log'}" in result.stderr
    assert "last lines:" in result.stderr
    assert {row["state"] for row in command.status().values()} == {"down"}


def test_down_stops_every_part_and_keeps_the_data(tmp_path: Path) -> None:
    command = StackCommand(tmp_path / "home", port_base=23000)
    assert command("up", "--infra").returncode == 0
    assert command("down").returncode == 0
    assert {row["state"] for row in command.status().values()} == {"down"}
    assert (tmp_path / "home" / "postgres" / "data" / "PG_VERSION").exists()
    assert (tmp_path / "home" / "kafka" / "data" / "meta.properties").exists()
