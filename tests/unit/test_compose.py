"""There is no Docker engine here to run docker-compose.yml, so it is checked against the code: every
service's command, port, variables and readiness check, and the broker's configuration."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.local.kafka import container_broker_environment, kafka_version
from services.console.settings import ConsoleSettings
from shared.configuration import SERVICE_SETTINGS, sections

REPO = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
KNOWN_VARIABLES = {variable.name for _, found in sections() for variable in found}


@pytest.mark.parametrize("settings", SERVICE_SETTINGS, ids=lambda s: s.service)
def test_each_service_runs_its_module_on_its_port_with_known_variables(settings: Any) -> None:
    service = COMPOSE["services"][settings.service]
    command = service["command"]
    assert command == ["python", "-m", f"services.{settings.service}"]
    assert importlib.util.find_spec(f"services.{settings.service}.__main__") is not None

    environment: dict[str, str] = service["environment"]
    assert set(environment) <= KNOWN_VARIABLES, set(environment) - KNOWN_VARIABLES
    prefix = settings.service.upper()
    port = int(environment[f"{prefix}_PORT"])
    assert port == settings.default_port
    assert environment[f"{prefix}_HOST"] == "0.0.0.0"
    assert service["ports"] == [f"{port}:{port}"]
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
    assert service["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert service["depends_on"]["topics"] == {"condition": "service_completed_successfully"}


def test_the_console_runs_its_module_and_calls_the_compose_services() -> None:
    console = COMPOSE["services"]["console"]
    assert console["command"] == ["python", "-m", "services.console"]
    assert importlib.util.find_spec("services.console.__main__") is not None
    environment: dict[str, str] = console["environment"]
    assert set(environment) <= KNOWN_VARIABLES, set(environment) - KNOWN_VARIABLES
    assert int(environment["CONSOLE_PORT"]) == ConsoleSettings.default_port
    assert environment["CONSOLE_HOST"] == "0.0.0.0"
    assert console["ports"] == [f"{ConsoleSettings.default_port}:{ConsoleSettings.default_port}"]
    assert f"http://127.0.0.1:{ConsoleSettings.default_port}/readyz" in " ".join(console["healthcheck"]["test"])
    for settings in SERVICE_SETTINGS:  # each service by its compose name and port
        name = settings.service
        assert environment[f"CONSOLE_{name.upper()}_URL"] == f"http://{name}:{settings.default_port}"
    assert "postgres" not in console["depends_on"], "the console has no database"
    assert console["depends_on"]["topics"] == {"condition": "service_completed_successfully"}


def test_the_broker_is_the_local_stack_s_version_and_configuration() -> None:
    kafka = COMPOSE["services"]["kafka"]
    assert kafka["image"] == f"apache/kafka:{kafka_version()}"
    assert kafka["environment"] == container_broker_environment("kafka:9092", tuned_for_tests=False)


def test_topics_are_created_from_the_topic_file_before_the_services_start() -> None:
    topics = COMPOSE["services"]["topics"]
    assert topics["command"] == ["lienthong", "topics", "ensure"]
    assert topics["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert set(topics["environment"]) <= KNOWN_VARIABLES


def test_the_shipped_rules_are_published_once_the_topics_exist() -> None:
    rules = COMPOSE["services"]["rules"]
    assert rules["command"] == ["lienthong", "rules", "publish"]
    assert rules["depends_on"] == {"topics": {"condition": "service_completed_successfully"}}


def test_the_database_url_reaches_the_compose_postgres() -> None:
    postgres = COMPOSE["services"]["postgres"]["environment"]
    for settings in SERVICE_SETTINGS:
        url = COMPOSE["services"][settings.service]["environment"]["DATABASE_URL"]
        assert url == f"postgresql://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}@postgres:5432/postgres"


def test_the_image_runs_as_a_non_root_user_with_the_locked_dependencies() -> None:
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^USER lienthong$", dockerfile, re.MULTILINE)
    assert "--require-hashes -r requirements/runtime.txt" in dockerfile
    for folder in ("shared", "services", "deploy"):
        assert f"COPY {folder} ./{folder}" in dockerfile
