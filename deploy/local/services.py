"""The four services and the web console, each `python -m services.<name>` in its own process."""

from __future__ import annotations

import os
import sys

import httpx

from deploy.local.part import Part
from deploy.local.process import REPO, spawn
from deploy.local.settings import SERVICES, StackSettings
from deploy.local.simulators import provider_environment


class ServicePart(Part):
    def __init__(self, settings: StackSettings, name: str, kafka_address: str, database_url: str) -> None:
        super().__init__(settings)
        self.name = name
        self.marker = f"services.{name}"
        self.kafka_address = kafka_address
        self.database_url = database_url

    @property
    def port(self) -> int:
        return self.settings.ports.service(self.name)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        return {
            **self.process_environment(),
            "DATABASE_URL": self.database_url,
            **provider_environment(self.settings, self.name),
        }

    def process_environment(self) -> dict[str, str]:
        """What every HTTP process of the stack gets: the broker, its port, the staff keys, the shared clock."""
        prefix = self.name.upper()
        # Another stack's stack.env, sourced in this shell, must not point the service at that stack's database.
        inherited = {name: value for name, value in os.environ.items() if name != f"{prefix}_DATABASE_URL"}
        return {
            **inherited,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_address,
            f"{prefix}_PORT": str(self.port),
            "IDENTITY_JWKS": str(self.settings.identity / "jwks.json"),
            # A local stack is never production: its clock can be moved (`lienthong clock advance 3d`).
            "CLOCK_CONTROL_FILE": str(self.settings.clock_file),
            f"{prefix}_HOST": "127.0.0.1",
            "LOG_FORMAT": "json",
        }

    def launch(self) -> None:
        command = [sys.executable, "-m", f"services.{self.name}"]
        spawn(command, env=self.environment(), log_file=self.log_file, pid_file=self.pid_file, cwd=REPO)

    def is_ready(self) -> bool:
        try:
            return httpx.get(f"{self.address}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


class ConsolePart(ServicePart):
    """The web console (`python -m services.console`): no database; it reads the stack's topics and calls the
    stack's services."""

    def __init__(self, settings: StackSettings, kafka_address: str) -> None:
        super().__init__(settings, "console", kafka_address, database_url="")

    def environment(self) -> dict[str, str]:
        urls = {f"CONSOLE_{service.upper()}_URL": f"http://127.0.0.1:{self.settings.ports.service(service)}"
                for service in SERVICES}  # fmt: skip
        return {**self.process_environment(), **urls}
