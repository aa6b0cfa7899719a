from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    service: ClassVar[str] = "routing"
    default_port: ClassVar[int] = 8002

    near_due_window_hours: float = Field(
        8.0, gt=0, le=80, description="The near-late window (sắp trễ) before an appointment, in working hours."
    )
    scheduler_interval_s: float = Field(
        1.0, gt=0, le=60, description="How often the deadline scheduler looks for deadlines that have come."
    )
    accountability_refresh_s: float = Field(
        30.0, gt=0, description="How often the accountability gauges of /metrics are computed again."
    )
