"""Calling the services' admin endpoints (`/operations/...`) for the operators' command: where each service is,
which admin token to send, and errors an operator can act on (which service, at which address, what it said)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy.local.settings import SERVICES, Ports, StackSettings


class OperatorSettings(BaseSettings):
    """The operators' command (`lienthong dlq`, `lienthong blocked`)."""

    model_config = SettingsConfigDict(env_prefix="LIENTHONG_", extra="ignore")

    admin_token: SecretStr | None = Field(
        None,
        description="Admin staff token `lienthong dlq` and `lienthong blocked` send to the services (or `--token`); "
        "unset: the admin token of `<LIENTHONG_HOME>/demo-tokens.json`, which `make up` writes.",
    )


class OperationError(RuntimeError):
    """What went wrong, said so that the operator knows what to do; the command prints it and exits 1."""


def service_url(service: str) -> str:
    """`<SERVICE>_URL` (stack.env has it), else the service's port on this machine."""
    return (
        os.environ.get(f"{service.upper()}_URL")
        or f"http://127.0.0.1:{Ports(StackSettings().port_base).service(service)}"
    )


def admin_token(given: str | None) -> str:
    """`--token`, else LIENTHONG_ADMIN_TOKEN, else the local stack's demo admin token."""
    settings = OperatorSettings()
    if given:
        return given
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    demo = StackSettings().demo_tokens
    if demo.exists():
        tokens = json.loads(demo.read_text())["tokens"]
        found = next((t["token"] for t in tokens if t["role"] == "admin"), None)
        if found:
            return str(found)
    raise OperationError(f"no admin token: pass --token, set LIENTHONG_ADMIN_TOKEN, or run against a local stack "
                         f"(`make up` writes one to {demo})")  # fmt: skip


@dataclass
class OperationsClient:
    """One service's admin endpoints."""

    service: str
    token: str
    timeout_s: float = 30

    @property
    def base(self) -> str:
        return service_url(self.service)

    def call(self, method: str, path: str, **params: Any) -> Any:
        url = f"{self.base}/operations{path}"
        try:
            answer = httpx.request(method, url, params=params, timeout=self.timeout_s,
                                   headers={"Authorization": f"Bearer {self.token}"})  # fmt: skip
        except httpx.TransportError as error:
            raise OperationError(f"{self.service} does not answer at {self.base} ({type(error).__name__}): is it "
                                 "running? `make up` starts the local stack; "
                                 f"{self.service.upper()}_URL says where it is") from error  # fmt: skip
        if answer.status_code >= 400:
            try:
                detail = answer.json().get("detail", answer.text)
            except ValueError:
                detail = answer.text[:500]
            raise OperationError(f"{self.service}: {answer.status_code} {detail}")
        return answer.json()


def chosen(service: str | None) -> tuple[str, ...]:
    """The services a command goes to: the one named, else all of them."""
    return (service,) if service else SERVICES
