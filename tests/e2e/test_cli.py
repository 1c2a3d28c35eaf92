"""The command line, as real processes."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from connector.devstack import wait_until
from connector.sandbox.empower_records import WebhookTarget
from connector.sandbox.runner import start_sandbox
from connector.store.migrate import head_revisions
from tests.e2e.processes import base_env, free_port, wait_for_http

HEAD = ", ".join(sorted(head_revisions()))

CONNECTOR = [sys.executable, "-m", "connector"]


def run(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CONNECTOR, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_missing_settings_stop_start_up_with_one_line_each(tmp_path: Path) -> None:
    result = run(
        "run",
        env=base_env(
            CONNECTOR_EMPOWER__API_KEY="k", CONNECTOR_EMPOWER__WEBHOOK_KEYS="empower-hook-key-0123"
        ),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "connector: configuration error: CONNECTOR_RXSCALE__API_KEY: Field required",
        "connector: configuration error: CONNECTOR_RXSCALE__WEBHOOK_SECRETS: Field required",
    ]
    assert not (tmp_path / "connector.db").exists()


def test_plain_http_upstream_is_one_clear_line(tmp_path: Path) -> None:
    env = base_env(
        CONNECTOR_RXSCALE__API_KEY="k",
        CONNECTOR_RXSCALE__WEBHOOK_SECRETS="whsec_unused_0123456789",
        CONNECTOR_EMPOWER__API_KEY="k",
        CONNECTOR_EMPOWER__WEBHOOK_KEYS="empower-hook-key-0123",
        CONNECTOR_EMPOWER__BASE_URL="http://empower.example.com",
    )
    result = run("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("connector: configuration error: CONNECTOR_EMPOWER__BASE_URL: ")
    assert "Traceback" not in result.stderr


def test_migrate_creates_the_database(tmp_path: Path) -> None:
    result = run(
        "migrate", env=base_env(CONNECTOR_DATABASE_URL=f"sqlite:///{tmp_path}/c.db"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"database is at revision {HEAD}"
    with sqlite3.connect(tmp_path / "c.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert {"orders", "order_events", "received_webhooks", "jobs"} <= tables


def test_migrate_against_an_unusable_database_is_one_line(tmp_path: Path) -> None:
    result = run("migrate", env=base_env(CONNECTOR_DATABASE_URL="mysql://x/y"), cwd=tmp_path)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_version_and_help(tmp_path: Path) -> None:
    version = run("--version", env=base_env(), cwd=tmp_path)
    assert version.returncode == 0
    assert version.stdout.startswith("connector ")
    helped = run("--help", env=base_env(), cwd=tmp_path)
    assert helped.returncode == 0
    for command in ("run", "migrate", "demo", "sandbox"):
        assert command in helped.stdout


@pytest.mark.slow
def test_the_demo_completes_every_order(tmp_path: Path) -> None:
    result = run("demo", "--orders", "3", env=base_env(), cwd=tmp_path, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    table = [line for line in result.stdout.splitlines() if line.startswith("po-")]
    assert len(table) == 3
    assert all(" completed " in line and " ord_" in line for line in table)
    assert "All 3 orders completed" in result.stdout


@pytest.mark.slow
async def test_a_real_daemon_serves_until_sigterm_then_exits_cleanly(tmp_path: Path) -> None:
    sandbox = await start_sandbox()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    subscription = sandbox.rxscale.subscribe(f"{url}/webhooks/rxscale", "pharmacy_order_created")
    sandbox.empower.webhook = WebhookTarget(
        url=f"{url}/webhooks/empower", key="cli-test-hook-key-0123"
    )
    env = base_env(
        CONNECTOR_DATABASE_URL=f"sqlite:///{tmp_path}/connector.db",
        CONNECTOR_HTTP__PORT=str(port),
        CONNECTOR_RXSCALE__BASE_URL=sandbox.rxscale_url,
        CONNECTOR_RXSCALE__API_KEY=sandbox.rxscale.api_key,
        CONNECTOR_RXSCALE__WEBHOOK_SECRETS=f"whsec_unused_0123456789,{subscription.signing_secret}",
        CONNECTOR_EMPOWER__BASE_URL=sandbox.empower_url,
        CONNECTOR_EMPOWER__API_KEY=sandbox.empower.api_key,
        CONNECTOR_EMPOWER__WEBHOOK_KEYS="cli-test-hook-key-0123",
        CONNECTOR_WORKER__BACKOFF_BASE_SECONDS="0.1",
    )
    process = await asyncio.create_subprocess_exec(
        *CONNECTOR,
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert await wait_for_http(f"{url}/readyz", within=20), "the daemon never became ready"
        uid = sandbox.rxscale.add_order()

        async def completed() -> bool:
            return sandbox.rxscale.orders[uid].status == "completed"

        assert await wait_until(completed, within=20)
        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.wait_for(process.wait(), timeout=30)
        assert returncode == 0
        assert process.stderr is not None
        lines = (await process.stderr.read()).decode().splitlines()
        events = [json.loads(line)["event"] for line in lines]  # every line is JSON
        assert events[0] == "daemon_ready"
        assert "daemon_stopping" in events
        assert events[-1] == "daemon_stopped"
        assert "order_state_changed" in events
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await sandbox.close()
