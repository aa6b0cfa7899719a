from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PostalSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="POSTAL_", extra="ignore")

    service: ClassVar[str] = "postal"
    default_port: ClassVar[int] = 8004

    carrier_url: str = Field(
        "http://127.0.0.1:8028",
        description="Base URL of the carrier's order API (the VNPost-style protocol; the local simulator by default).",
    )
    carrier_customer_code: str = Field(
        "LIENTHONG", min_length=1, description="Our customer code at the carrier (mã khách hàng), sent with each call."
    )
    carrier_api_key: SecretStr | None = Field(None, description="API key of the carrier, sent as a bearer token.")
    carrier_timeout_s: float = Field(10, gt=0, description="How long the carrier may take to answer one call.")
    fees_file: Path | None = Field(
        None,
        description="YAML table of the fee per shipment, by direction and weight class; unset: the shipped "
        "`deploy/rules/postal-fees.yaml`.",
    )
