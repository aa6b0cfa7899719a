"""The Apache Kafka broker for the local stack: the official jars from Maven Central, fetched once with `mvn`
from `kafka-pom.xml` into the user's cache, run in KRaft mode (one node, broker and controller) with the
machine's Java 17+. Storage is formatted on the first start."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from deploy.local.part import Part
from deploy.local.process import PartFailedError, port_in_use, spawn
from deploy.local.settings import StackSettings
from shared.kafka.probe import BrokerProbe
from shared.settings import KafkaSettings

HERE = Path(__file__).parent
POM = HERE / "kafka-pom.xml"
LOG4J_CONFIG = HERE / "kafka-log4j2.yaml"
MINIMUM_JAVA = 17


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert match is not None, f"{POM} names no kafka.version"
    return match.group(1)


def java_executable() -> str:
    java_home = os.environ.get("JAVA_HOME")
    return str(Path(java_home) / "bin" / "java") if java_home else "java"


def check_java() -> str:
    """The java command to use; a clear error if there is none or it is too old."""
    java = java_executable()
    advice = f"install Java {MINIMUM_JAVA}+ (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
    if shutil.which(java) is None:
        raise PartFailedError("kafka", f"Java not found ({java}); {advice}")
    output = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" means Java 8
        major = int(match.group(2))
    if major < MINIMUM_JAVA:
        raise PartFailedError(
            "kafka", f"Java {major or '?'} found ({java}), the broker needs {MINIMUM_JAVA}+; {advice}"
        )
    return java


def single_node_properties(*, listeners: str, advertised: str, controller: str) -> dict[str, str | int]:
    """A one-node KRaft broker (broker and controller), as the local stack and the containers run it."""
    return {
        "process.roles": "broker,controller",
        "node.id": 1,
        "listeners": listeners,
        "advertised.listeners": f"PLAINTEXT://{advertised}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.quorum.voters": f"1@{controller}",
        # Topics come only from deploy/topics.yaml: a misspelt name must fail, not create a topic.
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": 1,
        "offsets.topic.num.partitions": 12,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        # One machine, one broker: nothing to wait for before the first rebalance.
        "group.initial.rebalance.delay.ms": 0,
    }


TEST_PROFILE_PROPERTIES: dict[str, str | int] = {"group.min.session.timeout.ms": 500}


def container_broker_environment(advertised: str, *, tuned_for_tests: bool) -> dict[str, str]:
    """The apache/kafka image's KAFKA_* variables for a one-node broker (docker-compose.yml, testcontainers)."""
    properties = single_node_properties(
        listeners="PLAINTEXT://:9092,CONTROLLER://:9093", advertised=advertised, controller="localhost:9093"
    )
    properties["log.dirs"] = "/var/lib/kafka/data"  # the image's data volume
    if tuned_for_tests:
        properties |= TEST_PROFILE_PROPERTIES
    return {"KAFKA_" + key.upper().replace(".", "_"): str(value) for key, value in properties.items()}


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in URL-safe base64, as `kafka-storage random-uuid` makes it."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):  # the storage tool's command line would read it as an option
            return cluster_id


class KafkaPart(Part):
    name = "kafka"

    def __init__(self, settings: StackSettings) -> None:
        super().__init__(settings)
        self.folder = settings.root / "kafka"
        self.data = self.folder / "data"
        self.properties = self.folder / "server.properties"
        self.marker = str(self.properties)
        self.libs = settings.cache_folder / f"kafka-{kafka_version()}" / "libs"

    @property
    def port(self) -> int:
        return self.settings.ports.kafka

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def broker_properties(self) -> dict[str, str | int]:
        ports = self.settings.ports
        properties = single_node_properties(
            listeners=f"PLAINTEXT://127.0.0.1:{ports.kafka},CONTROLLER://127.0.0.1:{ports.kafka_controller}",
            advertised=self.address,
            controller=f"127.0.0.1:{ports.kafka_controller}",
        )
        properties["log.dirs"] = str(self.data)
        if self.settings.profile == "test":
            properties |= TEST_PROFILE_PROPERTIES
        return properties

    def prepare(self) -> None:
        check_java()
        self._fetch_jars()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.properties.write_text("".join(f"{k}={v}\n" for k, v in self.broker_properties().items()))
        if not (self.data / "meta.properties").exists():
            print(f"  kafka: formatting storage in {self.data}", flush=True)
            self._java_tool(["kafka.tools.StorageTool", "format", "-t", new_cluster_id(), "-c", str(self.properties)])

    def _fetch_jars(self) -> None:
        stamp = self.libs / ".pom-sha256"
        pom_digest = hashlib.sha256(POM.read_bytes()).hexdigest()
        if stamp.exists() and stamp.read_text() == pom_digest:
            return
        if shutil.which("mvn") is None:
            raise PartFailedError(
                "kafka", "Maven (mvn) not found; it fetches the broker's jars once. Install it (Debian: "
                "apt-get install maven), or run on a machine whose cache already holds " + str(self.libs),
            )  # fmt: skip
        print(
            f"  kafka: fetching Apache Kafka {kafka_version()} jars with Maven (first time only) ...",
            flush=True,
        )
        started = time.monotonic()
        shutil.rmtree(self.libs, ignore_errors=True)
        result = subprocess.run(
            ["mvn", "-B", "-q", "-f", str(POM), "dependency:copy-dependencies", "-DincludeScope=runtime",
             f"-DoutputDirectory={self.libs}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise PartFailedError(
                "kafka", "fetching the broker's jars failed:\n" + (result.stdout + result.stderr)[-1500:]
            )
        stamp.write_text(pom_digest)
        jars = len(list(self.libs.glob("*.jar")))
        print(f"  kafka: fetched {jars} jars in {time.monotonic() - started:.0f} s into {self.libs}", flush=True)

    def _java_command(self, main: list[str]) -> list[str]:
        return [
            java_executable(),
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "-cp",
            f"{self.libs}/*",
            *main,
        ]

    def _java_tool(self, main: list[str]) -> None:
        result = subprocess.run(self._java_command(main), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise self.failure(f"{main[0]} failed: {(result.stdout + result.stderr).strip()[-800:]}")

    def launch(self) -> None:
        heap = self.settings.kafka_heap
        command = self._java_command(["kafka.Kafka", str(self.properties)])
        command[1:1] = [
            "-Xms256m",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
        ]
        spawn(command, env=os.environ, log_file=self.log_file, pid_file=self.pid_file, cwd=self.folder)

    def is_ready(self) -> bool:
        if not port_in_use(self.port):
            return False
        probe = BrokerProbe(KafkaSettings(bootstrap_servers=self.address), timeout_s=3)

        async def check() -> bool:
            try:
                return (await probe.check()).reachable
            finally:
                await probe.close()

        return asyncio.run(check())
