"""The dashboard and alert rules speak of metrics the connector really exposes, in PromQL
that Prometheus accepts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from connector.domain.errors import Partner
from connector.metrics import Metrics
from connector.store.stats import DatabaseFigures

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "connector-dashboard.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"


def exposed_names() -> set[str]:
    metrics = Metrics()
    metrics.webhook("rxscale", "enqueued")
    metrics.job("accept_order", "succeeded")
    metrics.upstream_request(Partner.EMPOWER, "create_order", 201, 0.1)
    metrics.describe_database(DatabaseFigures({}, 0.0, {}))
    names = set()
    for family in text_string_to_metric_families(metrics.render().decode()):
        names |= {sample.name for sample in family.samples}
    return names


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def alert_queries() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def metric_names(query: str) -> set[str]:
    return set(re.findall(r"\b(connector_[a-z_]+)\b", query))


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_metric_named_is_exposed(source: str) -> None:
    queries = dashboard_queries() if source == "dashboard" else alert_queries()
    named = set().union(*(metric_names(q) for q in queries))
    assert named, "no connector metric found; the test reads the wrong file"
    assert named - exposed_names() == set()


def test_the_dashboard_covers_what_an_operator_watches() -> None:
    used = set().union(*(metric_names(q) for q in dashboard_queries()))
    for name in (
        "connector_orders",
        "connector_jobs_dead",
        "connector_oldest_due_job_age_seconds",
        "connector_webhooks_received_total",
        "connector_jobs_total",
        "connector_upstream_request_duration_seconds_bucket",
    ):
        assert name in used, name


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (CI installs it)"
)
def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{n}", "expr": q}
                    for n, q in enumerate(dashboard_queries())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
