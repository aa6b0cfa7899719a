from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from deploy.local.settings import SERVICES, Ports
from shared.settings import AppSettings

LOCAL = Ports(8000)


class ConsoleSettings(AppSettings):
    """The console: where the four services are (it calls their APIs with the staff member's token), and how much
    of the live stream it keeps for each browser."""

    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore")

    service: ClassVar[str] = "console"
    default_port: ClassVar[int] = LOCAL.service("console")

    intake_url: str = Field(f"http://127.0.0.1:{LOCAL.service('intake')}", description="Base URL of intake's API.")
    routing_url: str = Field(f"http://127.0.0.1:{LOCAL.service('routing')}", description="Base URL of routing's API.")
    notification_url: str = Field(
        f"http://127.0.0.1:{LOCAL.service('notification')}", description="Base URL of notification's API."
    )
    postal_url: str = Field(f"http://127.0.0.1:{LOCAL.service('postal')}", description="Base URL of postal's API.")
    service_timeout_s: float = Field(10, gt=0, description="How long the console waits for a service's answer.")
    stream_buffer: int = Field(
        500,
        gt=0,
        description="Event lines kept for each browser of the live stream: a browser that reads slower loses the "
        "oldest, and is told how many.",
    )
    stream_clients: int = Field(
        200, gt=0, description="Browsers that may follow the live stream at once, per console process."
    )
    cookie_secure: bool = Field(
        False,
        description="Send the session cookie over HTTPS only (`Secure`): true wherever the console is served over "
        "HTTPS, as in production.",
    )

    def service_urls(self) -> dict[str, str]:
        return {service: getattr(self, f"{service}_url").rstrip("/") for service in SERVICES}
