from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PostalSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="POSTAL_", extra="ignore")

    service: ClassVar[str] = "postal"
    default_port: ClassVar[int] = 8004
