from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    service: ClassVar[str] = "intake"
    default_port: ClassVar[int] = 8001

    public_url: str = Field(
        "http://127.0.0.1:8001",
        description="Address applicants reach intake at; the slip's QR code opens its tracking page there.",
    )
