"""The README's two set-up commands are the ones CI runs and the project supports."""

from __future__ import annotations

import re
from pathlib import Path

from connector.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def ci_test_command() -> str:
    match = re.search(r'^TEST_COMMAND="(.+)"$', (ROOT / ".ci" / "run").read_text(), re.MULTILINE)
    assert match, ".ci/run must define TEST_COMMAND"
    return match.group(1)


def test_readme_gives_the_test_command_ci_runs() -> None:
    assert ci_test_command() in (ROOT / "README.md").read_text()


def test_readme_gives_a_demo_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert ".venv/bin/connector demo" in readme


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in (
        "CONNECTOR_DATABASE_URL",
        "CONNECTOR_HTTP__HOST",
        "CONNECTOR_HTTP__PORT",
        "CONNECTOR_RXSCALE__BASE_URL",
        "CONNECTOR_RXSCALE__API_KEY",
        "CONNECTOR_RXSCALE__WEBHOOK_SECRETS",
        "CONNECTOR_RXSCALE__PHARMACY_UID",
        "CONNECTOR_EMPOWER__BASE_URL",
        "CONNECTOR_EMPOWER__API_KEY",
        "CONNECTOR_EMPOWER__WEBHOOK_KEYS",
        "CONNECTOR_EMPOWER__DEFAULT_SHIPPING_METHOD",
        "CONNECTOR_WORKER__CONCURRENCY",
        "CONNECTOR_WORKER__RETRY_FOR_SECONDS",
        "CONNECTOR_WORKER__MAX_LEASE_EXPIRIES",
        "CONNECTOR_WORKER__REDRIVE_INTERVAL_SECONDS",
        "CONNECTOR_WORKER__UNMATCHED_AFTER_SECONDS",
        "CONNECTOR_RETENTION__DAYS",
        "CONNECTOR_WORKER__BACKOFF_BASE_SECONDS",
        "CONNECTOR_WORKER__BACKOFF_MAX_SECONDS",
        "CONNECTOR_CONFIG_FILE",
        "CONNECTOR_SECRETS_DIR",
        "CONNECTOR_COMPLETE_ON",
        "CONNECTOR_MAPPING__PRODUCTS",
        "CONNECTOR_MAPPING__PRESCRIBERS",
        "CONNECTOR_MAPPING__REQUIRE_NPI",
        "CONNECTOR_RECONCILE__INTERVAL_SECONDS",
        "CONNECTOR_RECONCILE__STALE_AFTER_SECONDS",
        "CONNECTOR_STOCK__SYNC_INTERVAL_SECONDS",
        "CONNECTOR_RXSCALE__RATE_LIMIT_PER_SECOND",
        "CONNECTOR_RXSCALE__RATE_LIMIT_PER_MINUTE",
    ):
        assert f"`{name}`" in readme, name


def test_readme_shows_the_demo_with_its_default_number_of_orders() -> None:
    default = build_parser().parse_args(["demo"]).orders
    readme = (ROOT / "README.md").read_text()
    assert f"Placing {default} order(s) at RxScale" in readme
    assert f"All {default} orders completed at RxScale with tracking." in readme
