"""The whole local stack: start in order, stop in reverse, report, and write `stack.env`."""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Sequence

from deploy.local.demo import write_demo_tokens
from deploy.local.kafka import KafkaPart, check_java
from deploy.local.part import Part
from deploy.local.postgres import PostgresPart
from deploy.local.process import PartFailedError, port_in_use, port_owner
from deploy.local.services import ConsolePart, ServicePart
from deploy.local.settings import SERVICES, StackSettings
from deploy.local.simulators import simulators
from shared.identity.keys import ensure_signing_key
from shared.kafka.topics import ensure_topics
from shared.rules.publish import SHIPPED_RULES, RulesInvalidError, documents_from_folder, publish
from shared.settings import KafkaSettings, with_database


class Stack:
    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.postgres = PostgresPart(settings)
        self.kafka = KafkaPart(settings)
        self.services = [ServicePart(settings, name, self.kafka.address, self.postgres.address) for name in SERVICES]
        self.console = ConsolePart(settings, self.kafka.address)
        self.simulators = simulators(settings)

    @property
    def parts(self) -> list[Part]:
        return [self.postgres, self.kafka, *self.simulators, *self.services, self.console]

    def select(self, infrastructure_only: bool) -> list[Part]:
        return [self.postgres, self.kafka] if infrastructure_only else self.parts

    def up(self, infrastructure_only: bool = False) -> None:
        """Start what is not running; parts already running are left as they are."""
        parts = self.select(infrastructure_only)
        self._preflight(parts)
        self._start([self.postgres])
        self._start([self.kafka])
        kafka = KafkaSettings(bootstrap_servers=self.kafka.address)
        created = asyncio.run(ensure_topics(kafka))
        print(f"  topics: {len(created)} created" if created else "  topics: all present", flush=True)
        try:
            published = asyncio.run(publish(kafka, documents_from_folder(SHIPPED_RULES)))
        except RulesInvalidError as error:
            raise PartFailedError("rules", str(error)) from error
        print(f"  rules: {len(published)} documents published from {SHIPPED_RULES}", flush=True)
        services = [part for part in parts if part in (*self.services, self.console)]
        if services and ensure_signing_key(self.settings.identity)[1]:
            print(f"  identity: staff signing key created in {self.settings.identity}", flush=True)
        if services and write_demo_tokens(self.settings.identity, self.settings.demo_tokens):
            print(f"  identity: demo staff tokens written to {self.settings.demo_tokens}", flush=True)
        # The services depend only on the two above (and notification on the simulated providers), not on each
        # other: they start side by side, and the console with them (it calls them only when a page asks).
        self._start([part for part in parts if part in self.simulators])
        self._start(services)
        self.write_env_file(parts)

    def _preflight(self, parts: list[Part]) -> None:
        """Fail before starting anything when a part cannot start: Java missing, a port taken."""
        if self.kafka in parts and self.kafka.pid() is None:
            check_java()
        for part in parts:
            if part.pid() is None and port_in_use(part.port):
                raise PartFailedError(
                    part.name,
                    f"port {part.port} is taken by {port_owner(part.port)}; stop it, or give this stack "
                    f"other ports with LIENTHONG_PORT_BASE (now {self.settings.port_base})",
                )

    def _start(self, parts: Sequence[Part]) -> None:
        started = time.monotonic()
        launched = []
        for part in parts:
            pid = part.pid()
            if pid is not None:
                print(f"  {part.name}: already running (pid {pid}, port {part.port})", flush=True)
                continue
            print(f"  {part.name}: starting on port {part.port} ...", flush=True)
            part.prepare()
            part.launch()
            launched.append(part)
        for part in parts:
            part.wait_ready()
            if part in launched:
                elapsed = time.monotonic() - started
                print(f"  {part.name}: ready in {elapsed:.1f} s (pid {part.pid()})", flush=True)

    def down(self) -> None:
        for part in reversed(self.parts):
            if part.pid() is not None:
                print(f"  {part.name}: stopping (pid {part.pid()})", flush=True)
                part.stop()

    def status(self) -> list[dict[str, str]]:
        rows = []
        for part in self.parts:
            pid = part.pid()
            rows.append({
                "part": part.name,
                "state": "up" if pid is not None else "down",
                "pid": str(pid or "-"),
                "port": str(part.port),
                "address": part.address,
                "log": str(part.log_file),
            })  # fmt: skip
        return rows

    def environment(self, parts: list[Part]) -> dict[str, str]:
        """What a client needs to reach this stack (the variables of `stack.env`)."""
        env = {
            "LIENTHONG_HOME": str(self.settings.root),
            "LIENTHONG_PORT_BASE": str(self.settings.port_base),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.address,
            "DATABASE_URL": self.postgres.address,
            "IDENTITY_KEYS_DIR": str(self.settings.identity),
            "IDENTITY_JWKS": str(self.settings.identity / "jwks.json"),
            "CLOCK_CONTROL_FILE": str(self.settings.clock_file),
        }
        for simulator in self.simulators:
            if simulator in parts:  # where tests read what the applicants received
                env[f"{simulator.name.upper().replace('-', '_')}_MESSAGES_URL"] = simulator.messages_url
        for service in self.services:
            prefix = service.name.upper()
            env[f"{prefix}_DATABASE_URL"] = with_database(self.postgres.address, f"lienthong_{service.name}")
            if service in parts:
                env[f"{prefix}_URL"] = service.address
        if self.console in parts:
            env["CONSOLE_URL"] = self.console.address
        return env

    def write_env_file(self, parts: list[Part]) -> None:
        lines = [f"{key}={shlex.quote(value)}" for key, value in self.environment(parts).items()]
        self.settings.env_file.write_text(
            "# Written by `make up`: the addresses of this stack, as shell variables.\n" + "\n".join(lines) + "\n"
        )
