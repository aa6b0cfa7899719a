"""deploy/monitoring/ checked against the code. `promtool check rules` is a Go binary that is not here, and no
PyPI or npm package checks Prometheus rule files, so: the file's structure against a JSON Schema written from
Prometheus's rule-file format (below), every expression parsed by `promql-parser` (the Python binding of GreptimeDB's
PromQL parser), and every metric, label and label value it names found in the code. The Grafana dashboard's queries
get the same checks, and every alert has its section in docs/runbook.md."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the dev group
import promql_parser
import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, Summary

from services.routing.accountability import AgencyFigures

REPO = Path(__file__).resolve().parents[2]
ALERTS: dict[str, Any] = yaml.safe_load((REPO / "deploy" / "monitoring" / "alerts.yaml").read_text())
DASHBOARD: dict[str, Any] = json.loads((REPO / "deploy" / "monitoring" / "dashboard.json").read_text())
RUNBOOK = (REPO / "docs" / "runbook.md").read_text()
KINDS = {"Counter": Counter, "Gauge": Gauge, "Histogram": Histogram, "Summary": Summary}
# Labels Prometheus adds to every series of a target (the scrape job sets `service`: docs/runbook.md, "Scraping"),
# and the one series it makes itself.
TARGET_LABELS = {"service", "instance", "job", "namespace", "pod"}
PROMETHEUS_SERIES = {"up": set[str]()}

DURATION = r"^([0-9]+(ms|s|m|h|d|w|y))+$"
RULE_FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["groups"],
    "additionalProperties": False,
    "properties": {
        "groups": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "rules"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "interval": {"type": "string", "pattern": DURATION},
                    "rules": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["alert", "expr", "labels", "annotations"],
                            "additionalProperties": False,
                            "properties": {
                                "alert": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                                "expr": {"type": "string", "minLength": 1},
                                "for": {"type": "string", "pattern": DURATION},
                                "keep_firing_for": {"type": "string", "pattern": DURATION},
                                "labels": {
                                    "type": "object",
                                    "required": ["severity"],
                                    "properties": {"severity": {"enum": ["critical", "warning", "info"]}},
                                    "additionalProperties": {"type": "string"},
                                },
                                "annotations": {
                                    "type": "object",
                                    "required": ["summary", "runbook"],
                                    "additionalProperties": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def exported_metrics() -> dict[str, set[str]]:
    """Every series name the services export, with its labels: each `Gauge("lienthong_...", ..., [labels])` of
    shared/ and services/ found in the source, and its series names as prometheus_client itself makes them
    (a Counter `x` is exported as `x_total`, a Histogram as `x_bucket`, `x_sum`, `x_count`...)."""
    found: dict[str, set[str]] = {}
    for folder in ("shared", "services"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KINDS):
                    continue
                if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                    continue
                labels: set[str] = set()
                if len(node.args) > 2 and isinstance(node.args[2], ast.List):
                    labels = {str(element.value) for element in node.args[2].elts if isinstance(element, ast.Constant)}
                registry = CollectorRegistry()
                KINDS[node.func.id](node.args[0].value, "documentation", registry=registry)
                for family in registry.collect():
                    for sample in family.samples:
                        found[sample.name] = labels | ({"le"} if sample.name.endswith("_bucket") else set())
    # The process metrics (resident memory...) that every service's registry gets from shared/service.py.
    assert "ProcessCollector(registry=self.registry)" in (REPO / "shared" / "service.py").read_text()
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    found |= {sample.name: set() for family in registry.collect() for sample in family.samples}
    return found


EXPORTED = exported_metrics()


def selectors(expression: str) -> Iterator[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(promql_parser.parse(expression), visit)
    return iter(found)


def rules() -> list[dict[str, Any]]:
    return [rule for group in ALERTS["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    return [target["expr"] for panel in DASHBOARD["panels"] for target in panel.get("targets", [])]


def check_expression(expression: str) -> set[str]:
    """Parses the expression and checks every metric it names, and the labels it matches on; returns the metrics."""
    figures = AgencyFigures(agency="any")
    known_figures = {"received", "supplements_requested", "second_supplement_requests", "apologies", "on_time",
                     "satisfaction"} | {f"{group}_{key}" for group in ("in_progress", "finished")
                                        for key in getattr(figures, group)}  # fmt: skip
    names = set()
    for selector in selectors(expression):
        assert selector.name, f"a selector without a metric name in {expression}"
        known = {**EXPORTED, **PROMETHEUS_SERIES}
        assert selector.name in known, f"{selector.name} is not exported by the code ({expression})"
        for matcher in selector.matchers.matchers:
            assert matcher.name in known[selector.name] | TARGET_LABELS, f"{selector.name} has no {matcher.name}"
            if matcher.name == "figure":
                assert set(re.split(r"\|", matcher.value)) <= known_figures, matcher.value
        names.add(selector.name)
    return names


def test_the_sample_names_come_from_prometheus_client() -> None:
    assert "lienthong_dead_letters_total" in EXPORTED
    assert "lienthong_outbox_oldest_age_seconds" in EXPORTED
    assert EXPORTED["lienthong_consumer_lag"] == {"topic", "partition"}
    assert "lienthong_handler_seconds_bucket" in EXPORTED


def test_the_rule_file_has_prometheus_s_structure() -> None:
    jsonschema.validate(ALERTS, RULE_FILE_SCHEMA)
    names = [group["name"] for group in ALERTS["groups"]]
    assert len(names) == len(set(names))
    for rule in rules():
        if "for" in rule:
            assert promql_parser.parse_duration(rule["for"]).total_seconds() > 0


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: f"{rule['alert']}-{rule['labels']['severity']}")
def test_each_rule_parses_and_names_only_exported_metrics(rule: dict[str, Any]) -> None:
    assert check_expression(rule["expr"])


def test_the_alerts_cover_what_operators_must_hear_of() -> None:
    used = set().union(*(check_expression(rule["expr"]) for rule in rules()))
    required = {
        "lienthong_dead_letters_total",  # dead letters
        "lienthong_blocked_dossiers",  # blocked dossiers (consumer side)
        "lienthong_outbox_blocked_dossiers",  # blocked dossiers (producer side)
        "lienthong_outbox_oldest_age_seconds",  # outbox age
        "lienthong_consumer_lag",  # consumer lag
        "lienthong_scheduler_lag_seconds",  # scheduler lag
        "lienthong_uncertain_sends",  # uncertain sends
        "lienthong_agency_steps",  # late dossiers per agency
    }
    assert required <= used, required - used


def test_each_alert_has_its_runbook_section() -> None:
    headings = set(re.findall(r"^### (\w+)$", RUNBOOK, re.MULTILINE))
    for rule in rules():
        assert rule["alert"] in headings, f"docs/runbook.md has no '### {rule['alert']}'"
        assert rule["annotations"]["runbook"] == f"docs/runbook.md#{rule['alert'].lower()}"


def test_the_dashboard_queries_parse_and_show_every_alerted_metric() -> None:
    assert DASHBOARD["title"]
    assert dashboard_queries()
    shown = set().union(*(check_expression(query) for query in dashboard_queries()))
    alerted = set().union(*(check_expression(rule["expr"]) for rule in rules())) - set(PROMETHEUS_SERIES)
    assert alerted <= shown, alerted - shown
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))


def test_the_runbook_names_the_operator_commands_and_the_backups() -> None:
    for command in ("lienthong lag", "lienthong dlq list", "lienthong dlq show", "lienthong dlq replay",
                    "lienthong blocked", "lienthong timeline", "pg_dump", "pg_restore"):  # fmt: skip
        assert command in RUNBOOK, command
    for service in ("intake", "routing", "notification", "postal"):
        assert f"lienthong_{service}" in RUNBOOK  # each service's database
