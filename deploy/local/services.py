"""The four services, each `python -m services.<name>` in its own process."""

from __future__ import annotations

import os
import sys

import httpx

from deploy.local.part import Part
from deploy.local.process import REPO, spawn
from deploy.local.settings import StackSettings
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
        prefix = self.name.upper()
        # Another stack's stack.env, sourced in this shell, must not point the service at that stack's database.
        inherited = {name: value for name, value in os.environ.items() if name != f"{prefix}_DATABASE_URL"}
        return {
            **inherited,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_address,
            "DATABASE_URL": self.database_url,
            f"{prefix}_PORT": str(self.port),
            "IDENTITY_JWKS": str(self.settings.identity / "jwks.json"),
            # A local stack is never production: its clock can be moved (`lienthong clock advance 3d`).
            "CLOCK_CONTROL_FILE": str(self.settings.clock_file),
            f"{prefix}_HOST": "127.0.0.1",
            "LOG_FORMAT": "json",
            **provider_environment(self.settings, self.name),
        }

    def launch(self) -> None:
        command = [sys.executable, "-m", f"services.{self.name}"]
        spawn(command, env=self.environment(), log_file=self.log_file, pid_file=self.pid_file, cwd=REPO)

    def is_ready(self) -> bool:
        try:
            return httpx.get(f"{self.address}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False
