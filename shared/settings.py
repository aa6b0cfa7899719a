"""Settings shared by every process, read from the environment with pydantic-settings.

Every variable the project reads is declared in a settings class (here, in `services/*/settings.py` and in
`deploy/local/settings.py`); `docs/configuration.md` is generated from those classes by
`lienthong config --markdown`, and a test keeps it current.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://lienthong@127.0.0.1:8432/postgres"
DEFAULT_KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:9092"


class KafkaSettings(BaseSettings):
    """How every client reaches the broker. SASL and TLS are for production clusters."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = Field(
        DEFAULT_KAFKA_BOOTSTRAP_SERVERS, description="Comma-separated host:port list of the Kafka brokers."
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Kafka security protocol."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism, with a SASL_* security protocol."
    )
    sasl_username: str | None = Field(None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(None, description="SASL password.")
    ssl_cafile: str | None = Field(None, description="CA bundle that signed the brokers' certificates (SSL).")
    fetch_max_wait_ms: int = Field(
        50,
        ge=0,
        description="Longest the broker holds a service consumer's fetch while fewer than KAFKA_FETCH_MIN_BYTES are "
        "ready. A few milliseconds more per hop at low load spare the broker and the consumers a fetch request for "
        "every batch a relay sends.",
    )
    fetch_min_bytes: int = Field(
        65536, ge=1, description="Bytes a service consumer's fetch waits for (at most KAFKA_FETCH_MAX_WAIT_MS)."
    )

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments common to every aiokafka client (producer, consumer, admin)."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(cafile=self.ssl_cafile)
        if self.sasl_mechanism is not None:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password.get_secret_value() if self.sasl_password else None
        return options

    def consumer_options(self) -> dict[str, Any]:
        """The client options of a service's consumer group, which trades a little latency for fewer fetches."""
        return self.client_options() | {
            "fetch_max_wait_ms": self.fetch_max_wait_ms,
            "fetch_min_bytes": self.fetch_min_bytes,
        }


class LogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOG_", extra="ignore")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Lowest level logged.")
    format: Literal["auto", "json", "console"] = Field(
        "auto", description="`json` lines, readable `console`, or `auto`: console on a terminal, else json."
    )


class AppSettings(BaseSettings):
    """What every HTTP process of the system needs: the four services and the console. A subclass sets `service`,
    `default_port` and `model_config = SettingsConfigDict(env_prefix="<SERVICE>_")`, so its own variables are
    `<SERVICE>_PORT`, `<SERVICE>_HOST`...; the shared ones keep their plain names."""

    service: ClassVar[str]
    default_port: ClassVar[int]

    host: str = Field("127.0.0.1", description="Address the HTTP API listens on (0.0.0.0 in containers).")
    port: int = Field(0, description="HTTP port of the service's API.")
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token /metrics asks for (`Authorization: Bearer <token>`); unset or empty: /metrics is "
        "open, as in local development.",
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings, exclude=True)
    log: LogSettings = Field(default_factory=LogSettings, exclude=True)

    @property
    def http_port(self) -> int:
        return self.port or self.default_port


class ServiceSettings(AppSettings):
    """What every service process needs besides: its own database on a PostgreSQL server; each service subclasses
    it with its name and port."""

    database_url: str | None = Field(
        None,
        description="This service's own database. Unset: database `lienthong_<service>` on the server of "
        "DATABASE_URL, created at start-up if missing.",
    )
    public_requests_per_minute: int = Field(
        30, gt=0, description="Requests a client (by address) may make to the anonymous API per minute, per process."
    )
    server_database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias="DATABASE_URL",
        description="A PostgreSQL server (any database on it) where each service keeps its own database.",
    )

    @property
    def database_name(self) -> str:
        return f"lienthong_{self.service}"

    @property
    def dsn(self) -> str:
        """The connection URL of this service's own database."""
        if self.database_url:
            return self.database_url
        return with_database(self.server_database_url, self.database_name)

    @property
    def creates_own_database(self) -> bool:
        return not self.database_url


def with_database(url: str, database: str) -> str:
    """The same server URL naming another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))
