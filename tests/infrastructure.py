"""The broker and database the tests run against, in order of preference:

1. the ones named by KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL, when both are set (nothing is started);
2. containers (the official apache/kafka and postgres images) through testcontainers, when a Docker engine
   answers a ping — a docker client alone is not enough;
3. a local stack (PostgreSQL and Kafka only) in its own home folder and ports, tuned for speed.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from deploy.local.kafka import container_broker_environment, kafka_version
from deploy.local.settings import StackSettings
from deploy.local.stack import Stack
from shared.kafka.topics import ensure_topics
from shared.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[1]
TEST_STACK_HOME = REPO / ".local" / "test-stack"
TEST_STACK_PORT_BASE = 28000
KAFKA_IMAGE = f"apache/kafka:{kafka_version()}"  # the same broker version as the local stack
POSTGRES_IMAGE = "postgres:18"


def docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no client library, no socket, no engine: all mean "no Docker here"
        return False


@contextmanager
def infrastructure() -> Iterator[dict[str, str]]:
    """Yields the environment variables that point the tests (and services they start) at a broker and a
    database; stops whatever it started."""
    given = {name: os.environ.get(name, "") for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    if all(given.values()) and _from_stopped_stack_env(given):
        print(
            "infrastructure: KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL come from the stack.env of a stack that is "
            "not running; the tests start their own instead",
            flush=True,
        )
        with _local_stack() as env:
            yield env
    elif all(given.values()):
        silent = [name for name, value in given.items() if not _answers(value)]
        if silent:
            raise SystemExit(f"{', '.join(silent)} given, but nothing answers there: start it, or unset both")
        print(f"infrastructure: given by the environment ({given['KAFKA_BOOTSTRAP_SERVERS']})", flush=True)
        _ensure_topics(given["KAFKA_BOOTSTRAP_SERVERS"])
        yield given
    elif any(given.values()):
        missing = [name for name, value in given.items() if not value]
        raise SystemExit(f"set both KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL, or neither; missing: {missing}")
    elif docker_engine_answers():
        with _containers() as env:
            yield env
    else:
        with _local_stack() as env:
            yield env


def _answers(address: str) -> bool:
    """Whether the first host:port of a bootstrap list or database URL accepts a connection."""
    parts = urlsplit(address if "://" in address else f"kafka://{address.split(',')[0]}")
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=2):
            return True
    except OSError:
        return False


def _from_stopped_stack_env(given: dict[str, str]) -> bool:
    """True when the variables were exported from a local stack's stack.env (`set -a; . .local/stack.env`)
    and that stack no longer runs: they then name no infrastructure anybody asked the tests to use."""
    home = os.environ.get("LIENTHONG_HOME")
    if not home:
        return False
    try:
        written = (Path(home) / "stack.env").read_text()
    except OSError:
        return False
    from_file = all(f"{name}={shlex.quote(value)}" in written.splitlines() for name, value in given.items())
    return from_file and not any(_answers(value) for value in given.values())


@contextmanager
def _local_stack() -> Iterator[dict[str, str]]:
    settings = StackSettings(home=TEST_STACK_HOME, port_base=TEST_STACK_PORT_BASE, profile="test")
    stack = Stack(settings)
    stack.down()  # a previous run interrupted before its clean-up
    shutil.rmtree(TEST_STACK_HOME, ignore_errors=True)
    print(f"infrastructure: local PostgreSQL and Kafka in {TEST_STACK_HOME}", flush=True)
    try:
        stack.up(infrastructure_only=True)
        env = stack.environment(stack.select(infrastructure_only=True))
        yield {"KAFKA_BOOTSTRAP_SERVERS": env["KAFKA_BOOTSTRAP_SERVERS"], "DATABASE_URL": env["DATABASE_URL"]}
    finally:
        stack.down()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _containers() -> Iterator[dict[str, str]]:
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    # The apache/kafka image takes its whole configuration from KAFKA_* variables once any is set. Its
    # advertised address must be the host port, which is therefore chosen before the container starts.
    kafka_port = _free_port()
    kafka = DockerContainer(KAFKA_IMAGE).with_bind_ports(9092, kafka_port)
    for name, value in container_broker_environment(f"localhost:{kafka_port}", tuned_for_tests=True).items():
        kafka = kafka.with_env(name, value)
    kafka = kafka.waiting_for(LogMessageWaitStrategy("Kafka Server started"))
    postgres = PostgresContainer(POSTGRES_IMAGE, username="lienthong", password="lienthong", driver=None)
    print(f"infrastructure: containers {KAFKA_IMAGE} and {POSTGRES_IMAGE}", flush=True)
    with kafka, postgres:
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": f"localhost:{kafka_port}",
            "DATABASE_URL": postgres.get_connection_url(),
        }
        _ensure_topics(env["KAFKA_BOOTSTRAP_SERVERS"])
        yield env


def _ensure_topics(bootstrap_servers: str) -> None:
    asyncio.run(ensure_topics(KafkaSettings(bootstrap_servers=bootstrap_servers)))
