from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The services, each with its own database and consumer group.
SERVICES = ("intake", "routing", "notification", "postal")
# Every HTTP process of a stack: the services, then the web console (no database, no group).
APPS = (*SERVICES, "console")


@dataclass(frozen=True)
class Ports:
    """Every port of one stack, derived from its base so that two stacks never share one."""

    base: int

    def service(self, name: str) -> int:
        """The port of a service or of the console: base+1 to base+5."""
        return self.base + 1 + APPS.index(name)

    @property
    def postgres(self) -> int:
        return self.base + 432

    @property
    def kafka(self) -> int:
        return self.base + 1092

    @property
    def kafka_controller(self) -> int:
        return self.base + 1093

    @property
    def smtp_sink(self) -> int:
        return self.base + 25

    @property
    def sms_gateway(self) -> int:
        return self.base + 26

    @property
    def smtp_sink_http(self) -> int:
        return self.base + 27

    @property
    def carrier(self) -> int:
        return self.base + 28


class StackSettings(BaseSettings):
    """The local stack (`make up`, and the test stack of `make test`)."""

    model_config = SettingsConfigDict(env_prefix="LIENTHONG_", extra="ignore")

    home: Path = Field(Path(".local"), description="Folder holding the stack's data, logs and pid files.")
    port_base: int = Field(
        8000,
        ge=1024,
        # Every port stays below Linux's ephemeral range (32768 and up): there, a client retrying a stopped
        # broker on loopback can connect to itself and hold the very port the broker needs to restart.
        le=31000,
        description="Base of the stack's ports: services base+1..+4, the console base+5, PostgreSQL base+432, Kafka "
        "base+1092 (controller base+1093). At most 31000, so that no port falls in the ephemeral range.",
    )
    cache: Path | None = Field(
        None,
        description="Where the broker's jars are kept once fetched, shared by every stack of this user "
        "(default ~/.cache/lienthong).",
    )
    profile: Literal["dev", "test"] = Field(
        "dev",
        description="`test` tunes the stack for speed (no fsync, short minimum session timeouts); "
        "never for data you keep.",
    )
    postgres_system_user: str = Field(
        "lienthong",
        description="System user running PostgreSQL when the stack is started by root (created if missing).",
    )
    kafka_heap: str = Field("1g", description="Maximum Java heap of the local broker.")
    ready_timeout_s: float = Field(120, description="How long each part may take to become ready.")

    @property
    def root(self) -> Path:
        return self.home.resolve()

    @property
    def cache_folder(self) -> Path:
        return self.cache or Path.home() / ".cache" / "lienthong"

    @property
    def ports(self) -> Ports:
        return Ports(self.port_base)

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def identity(self) -> Path:
        """The staff signing keys of this stack and their public JWKS (see `lienthong staff`)."""
        return self.root / "identity"

    @property
    def demo_tokens(self) -> Path:
        return self.root / "demo-tokens.json"

    @property
    def clock_file(self) -> Path:
        return self.root / "clock.json"

    @property
    def env_file(self) -> Path:
        return self.root / "stack.env"
