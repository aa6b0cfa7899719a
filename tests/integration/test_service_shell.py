"""Each service process: ready when its database is, whatever the broker does; metrics (behind a bearer token when
one is configured), OpenAPI and the events' AsyncAPI document served."""

import httpx
import pytest
import yaml

from shared.events.generate import ASYNCAPI_FILE
from tests.processes import free_port, running_service, wait_for

SERVICES = ["intake", "routing", "notification", "postal"]


@pytest.mark.parametrize("service", SERVICES)
def test_service_becomes_ready_and_serves_operations_endpoints(
    service: str, infrastructure_env: dict[str, str]
) -> None:
    with running_service(service, infrastructure_env) as base:
        ready = wait_for(f"{base}/readyz").json()
        assert ready["checks"] == {"database": True, "migrations": True, "workers": True}
        health = httpx.get(f"{base}/healthz").json()
        assert health["service"] == service
        assert health["broker"]["reachable"] is True
        metrics = httpx.get(f"{base}/metrics").text
        assert "lienthong_ready 1.0" in metrics
        assert "lienthong_broker_reachable 1.0" in metrics
        assert "process_resident_memory_bytes" in metrics
        paths = httpx.get(f"{base}/openapi.json").json()["paths"]
        assert {"/healthz", "/readyz", "/metrics", "/asyncapi.yaml", "/asyncapi.json"} <= set(paths)
        # The events' contract, without a token, is the committed document (the one the official parser checks).
        committed = ASYNCAPI_FILE.read_text(encoding="utf-8")
        served = httpx.get(f"{base}/asyncapi.yaml")
        assert (served.status_code, served.headers["content-type"]) == (200, "application/yaml")
        assert served.text == committed
        assert httpx.get(f"{base}/asyncapi.json").json() == yaml.safe_load(committed)


def test_with_a_metrics_token_the_metrics_take_it_and_the_probes_stay_open(
    infrastructure_env: dict[str, str],
) -> None:
    # The shell is the same for every service: one of them shows it.
    with running_service("intake", {**infrastructure_env, "INTAKE_METRICS_TOKEN": "scraper-secret"}) as base:
        assert wait_for(f"{base}/readyz").status_code == 200
        assert httpx.get(f"{base}/healthz").status_code == 200
        refused = httpx.get(f"{base}/metrics")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == 'Bearer realm="lienthong"'
        assert "lienthong_ready" not in refused.text
        for wrong in ("Bearer scraper-secreT", "Bearer", "Basic scraper-secret", "scraper-secret"):
            assert httpx.get(f"{base}/metrics", headers={"Authorization": wrong}).status_code == 401, wrong
        allowed = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer scraper-secret"})
        assert allowed.status_code == 200
        assert "lienthong_ready 1.0" in allowed.text


def test_without_its_database_a_service_is_alive_but_not_ready(infrastructure_env: dict[str, str]) -> None:
    closed = free_port()
    env = {**infrastructure_env, "DATABASE_URL": f"postgresql://lienthong@127.0.0.1:{closed}/postgres"}
    with running_service("intake", env) as base:
        not_ready = wait_for(f"{base}/readyz", status=503)
        assert not_ready.json()["checks"]["database"] is False
        health = wait_for(f"{base}/healthz").json()
        assert health["status"] == "alive"
        assert "ConnectionRefusedError" in health["startup"]["error"] or "connect" in health["startup"]["error"]


def test_a_broker_outage_does_not_take_a_service_out_of_service(infrastructure_env: dict[str, str]) -> None:
    env = {**infrastructure_env, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    with running_service("intake", env) as base:
        assert wait_for(f"{base}/readyz").json()["ready"] is True
        health = httpx.get(f"{base}/healthz").json()
        assert health["broker"]["reachable"] is False
        assert "lienthong_broker_reachable 0.0" in httpx.get(f"{base}/metrics").text
