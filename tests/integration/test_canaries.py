"""Canaries: values that stand for patient data, put where a careless path would log them
(a frame's locals, an exception's message, a request body), then every way the daemon can
fail is made to happen. No canary may appear in the output, at debug level, in either log
format, nor in what is stored with a failed job."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Literal

import pytest
import structlog
from aiohttp.test_utils import TestClient, TestServer

from connector.devstack import wait_until
from connector.domain.clock import SystemClock
from connector.domain.errors import Partner, PartnerError, PermanentError
from connector.domain.jobs import Job, JobKind, JobSpec, JobState
from connector.domain.outcome import Outcome
from connector.domain.retry import RetryPolicy
from connector.logging import configure_logging
from connector.receive.empower import EmpowerReceiver
from connector.receive.receipt import Receipt
from connector.receive.rxscale import RxScaleReceiver
from connector.store import job_queries, jobs
from connector.store.database import Database
from connector.store.migrate import head_revisions
from connector.web.context import ServiceState, WebContext
from connector.web.server import build_web_app
from connector.work.worker import Worker, WorkerConfig

CANARY = "Canarybird Patientname 1970-01-01"
KEY = "canary-test-empower-key"

Format = Literal["json", "console"]


@pytest.fixture(params=["json", "console"])
def captured(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", request.param, stream=stream)
    try:
        yield stream
    finally:
        configure_logging("warning", "json")


def assert_no_canary(output: str) -> None:
    assert output  # something was logged: the test would prove nothing otherwise
    assert "Canarybird" not in output
    assert "Patientname" not in output
    assert "1970-01-01" not in output


class LeakyHandler:
    """Fails holding a patient's name in its locals and in the exception's message; when
    told the failure is permanent, fails again while handling that."""

    async def run(self, job: Job) -> Outcome:
        patient_name = CANARY  # a frame local, as a request body in a real handler
        if job.order_uid == "po-permanent":
            raise PermanentError(Partner.EMPOWER, "create_order", "HTTP 422", status=422)
        raise ValueError(f"could not read {patient_name}")

    async def on_permanent_failure(self, job: Job, error: PartnerError) -> Outcome:
        body = {"first_name": CANARY}
        raise KeyError(f"no field for {body}")


async def test_a_failing_job_leaks_nothing(database: Database, captured: io.StringIO) -> None:
    policy = RetryPolicy(base_seconds=0.01, max_seconds=0.02, retry_for_seconds=0)
    config = WorkerConfig(concurrency=2, lease_seconds=1, idle_seconds=0.05, retry=policy)
    worker = Worker(database, dict.fromkeys(JobKind, LeakyHandler()), config, SystemClock())
    async with database.transaction() as c:
        ids = await jobs.enqueue(
            c,
            [
                JobSpec(JobKind.PLACE_ORDER, "po-transient"),
                JobSpec(JobKind.PLACE_ORDER, "po-permanent"),
            ],
            SystemClock().now(),
        )
    task = asyncio.create_task(worker.run(grace_seconds=1))

    async def settled() -> bool:
        async with database.connect() as c:
            transient = await job_queries.get_job(c, ids[0])
        buried = transient is not None and transient.state is JobState.DEAD
        return buried and "job_failure_not_recorded" in captured.getvalue()

    try:
        assert await wait_until(settled, within=10)
    finally:
        worker.stop()
        await task
    output = captured.getvalue()
    assert "job_failure_not_recorded" in output  # the chained failure was logged...
    assert "KeyError" in output  # ...with its type
    assert_no_canary(output)
    async with database.connect() as c:
        transient = await job_queries.get_job(c, ids[0])
    assert transient is not None
    assert transient.last_error is not None
    assert transient.last_error.startswith("ValueError in run (")
    assert "Canarybird" not in transient.last_error


class LeakyReceiver(EmpowerReceiver):
    async def receive(self, body: bytes, now: datetime) -> Receipt:
        patient_name = CANARY
        raise RuntimeError(f"cannot place {patient_name}")


async def test_a_failing_request_handler_leaks_nothing(
    database: Database, captured: io.StringIO
) -> None:
    context = WebContext(
        database=database,
        rxscale=RxScaleReceiver(database, ["whsec_canary_0123456789"]),
        empower=LeakyReceiver(database, [KEY]),
        clock=SystemClock(),
        on_enqueued=lambda: None,
        state=ServiceState(schema_heads=head_revisions()),
        max_body_bytes=64 * 1024,
    )
    client = TestClient(TestServer(build_web_app(context)))
    await client.start_server()
    try:
        response = await client.post(
            "/webhooks/empower",
            data=f'{{"first_name": "{CANARY}"}}'.encode(),
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )
        assert response.status == 500
        assert await response.json() == {"error": "internal error"}
        assert client.server.port is not None
        await _hostile_connections(client.server.host, client.server.port)
    finally:
        await client.close()
    output = captured.getvalue()
    assert "request_failed" in output
    assert "RuntimeError" in output
    assert_no_canary(output)
    # Strangers cause warnings at most, never an error with a traceback.
    library_lines = [line for line in output.splitlines() if "aiohttp.server" in line]
    assert library_lines
    for line in library_lines:
        assert '"level": "error"' not in line
        assert "[error" not in line
        assert "exception" not in line


async def _hostile_connections(host: str, port: int) -> None:
    """A malformed request line, and a client that hangs up in the middle of a body that
    carries a canary."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /healthz?{CANARY.replace(' ', '')} HTTP/9.9\r\n\r\n".encode())
    await writer.drain()
    await reader.read()
    writer.close()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        (
            "POST /webhooks/empower HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {KEY}\r\nContent-Length: 500\r\n\r\n"
            f'{{"first_name": "{CANARY}"'
        ).encode()
    )
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.transport.abort()
    await asyncio.sleep(0.1)


def test_the_standard_library_loggers_go_through_the_same_pipeline(
    captured: io.StringIO,
) -> None:
    patient = {"first_name": CANARY}
    try:
        raise ValueError(f"bad {patient}")
    except ValueError:
        logging.getLogger("asyncio").exception("Exception in callback %s", "x")
        structlog.get_logger("connector.test").exception("something_failed", email=CANARY)
    assert_no_canary(captured.getvalue())


def test_a_crash_at_start_up_leaks_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import connector.app
    from connector import cli

    async def crashing_serve(settings: object) -> None:
        patient_name = CANARY
        raise RuntimeError(f"cannot start for {patient_name}")

    for name, value in {
        "CONNECTOR_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        "CONNECTOR_LOG_FORMAT": "json",
        "CONNECTOR_LOG_LEVEL": "debug",
        "CONNECTOR_RXSCALE__API_KEY": "canary-rxscale-api-key",
        "CONNECTOR_RXSCALE__WEBHOOK_SECRETS": "whsec_canary_0123456789",
        "CONNECTOR_EMPOWER__API_KEY": "canary-empower-api-key",
        "CONNECTOR_EMPOWER__WEBHOOK_KEYS": KEY,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(connector.app, "serve", crashing_serve)
    try:
        assert cli.main(["run"]) == 1
    finally:
        configure_logging("warning", "json")
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "daemon_crashed" in output
    assert "RuntimeError" in output
    assert_no_canary(output)
