"""The `IDENTITY_*` variables: where services read the public staff keys, and how `lienthong staff` issues tokens."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.identity.jwks import JwksSource


class IdentitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    jwks: str = Field(
        ".local/identity/jwks.json",
        description="Path or http(s) URL of the JWKS (public keys only) services verify staff tokens with.",
    )
    keys_dir: Path = Field(
        Path(".local/identity"),
        description="Folder of the private signing keys and their `jwks.json`, for `lienthong staff`; "
        "never given to the services.",
    )
    issuer: str = Field("lienthong", description="`iss` claim of staff tokens: written on issue, required on use.")
    token_minutes: int = Field(
        60, gt=0, description="Lifetime of a token from `lienthong staff token` without `--days` or `--minutes`."
    )
    jwks_refresh_s: float = Field(
        30, ge=0, description="Least interval between two reads of the JWKS (a token with an unknown kid asks for one)."
    )
    jwks_max_age_s: float = Field(
        300,
        gt=0,
        description="Age after which a service reads the JWKS again: how long a retired key may still verify.",
    )

    def jwks_source(self) -> JwksSource:
        """The source a service's composition root builds; it reads nothing until the first token arrives."""
        return JwksSource(self.jwks, refresh_s=self.jwks_refresh_s, max_age_s=self.jwks_max_age_s)
