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
    carrier_webhook_secret: SecretStr | None = Field(
        None,
        min_length=16,
        description="Secret shared with the carrier, which signs each status webhook with it (HMAC-SHA256 of the "
        "timestamp and raw body, in X-Lienthong-Signature). Unset: every webhook is refused (401).",
    )
    carrier_timeout_s: float = Field(10, gt=0, description="How long the carrier may take to answer one call.")
    fees_file: Path | None = Field(
        None,
        description="YAML table of the fee per shipment, by direction and weight class; unset: the shipped "
        "`deploy/rules/postal-fees.yaml`. Read when the service starts.",
    )
    desk_phone: str = Field(
        "02838200000", description="The phone number the carrier calls at a one-stop desk (illustrative default)."
    )
    placer_interval_s: float = Field(1.0, gt=0, le=60, description="How often orders due are placed with the carrier.")
    order_retry_s: float = Field(
        5.0, gt=0, description="The first wait before placing an order again after the carrier was down; it doubles."
    )
    stuck_order_s: float = Field(
        60.0, gt=0, description="An order call still in flight after this long is taken for dead and placed again."
    )
    reconcile_after_s: float = Field(
        900.0, gt=0, description="A placed shipment the carrier said nothing of for this long is tracked by polling."
    )
    stale_after_s: float = Field(
        86400.0, gt=0, description="A shipment with no news for this long counts as stale (metric and alert)."
    )
