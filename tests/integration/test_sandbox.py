"""The sandbox partners' own rules and control endpoints, over HTTP."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from connector.devstack import wait_until
from connector.sandbox.empower_records import WebhookTarget
from connector.sandbox.runner import RunningSandbox, serve
from tests.e2e.processes import free_port, wait_for_http


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_orders_are_created_and_listed_through_the_control_api(
    sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{sandbox.rxscale_root}/_sandbox/orders", json={"count": 2}) as response:
        assert response.status == 201
        uids = (await response.json())["uids"]
    async with http.get(f"{sandbox.rxscale_root}/_sandbox/orders") as response:
        listed = await response.json()
    assert [o["uid"] for o in listed] == uids
    assert {o["status"] for o in listed} == {"waiting for pharmacy"}
    async with http.post(f"{sandbox.rxscale_root}/_sandbox/orders/{uids[0]}/cancel") as response:
        assert (await response.json())["status"] == "cancelled"


async def test_rxscale_status_rules(sandbox: RunningSandbox, http: aiohttp.ClientSession) -> None:
    uid = sandbox.rxscale.add_order()
    url = f"{sandbox.rxscale_url}/pharmacy_orders/{uid}/status"
    headers = {"X-API-Key": sandbox.rxscale.api_key}

    async def patch(body: dict[str, str]) -> int:
        async with http.patch(url, json=body, headers=headers) as response:
            return response.status

    assert await patch({"status": "completed"}) == 422
    assert await patch({"status": "in-progress"}) == 409  # must be reviewed first
    assert await patch({"status": "on-hold"}) == 400  # needs a comment
    assert await patch({"status": "on-hold", "comment": "missing NPI"}) == 200
    assert sandbox.rxscale.orders[uid].history[-1]["comment"] == "missing NPI"


@pytest.mark.parametrize("partner", ["rxscale", "empower"])
async def test_faults_are_switched_on_and_off_over_http(
    sandbox: RunningSandbox, http: aiohttp.ClientSession, partner: str
) -> None:
    root, path, headers = (
        (
            sandbox.rxscale_root,
            "/v1/external_pharmacy_api/health/",
            {"X-API-Key": sandbox.rxscale.api_key},
        )
        if partner == "rxscale"
        else (
            sandbox.empower_url,
            "/v1/products",
            {"Authorization": f"Bearer {sandbox.empower.api_key}"},
        )
    )
    rule = {"path": path, "status": 503, "times": None}
    async with http.post(f"{root}/_sandbox/faults", json=rule) as response:
        assert (await response.json()) == {"rules": 1}
    for _ in range(2):
        async with http.get(f"{root}{path}", headers=headers) as response:
            assert response.status == 503
    async with http.delete(f"{root}/_sandbox/faults") as response:
        assert (await response.json()) == {"rules": 0}
    async with http.get(f"{root}{path}", headers=headers) as response:
        assert response.status == 200
    async with http.post(f"{root}/_sandbox/faults", json={"nonsense": 1}) as response:
        assert response.status == 400


async def test_empower_sends_custom_events_with_its_key(
    sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("Authorization"), await request.json()))
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, url = await serve(app, "127.0.0.1", 0)
    try:
        async with http.post(
            f"{sandbox.empower_url}/_sandbox/webhook",
            json={"url": f"{url}/hook", "key": "k-1", "scheme": "basic"},
        ) as response:
            assert response.status == 200
        event = {"callback_type": "NOTIFY_RX", "details": {"prescription_token": "rx_1"}}
        async with http.post(f"{sandbox.empower_url}/_sandbox/events", json=event) as response:
            assert response.status == 202

        async def arrived() -> bool:
            return bool(received)

        assert await wait_until(arrived, within=5)
        authorization, body = received[0]
        assert authorization is not None
        assert authorization.startswith("Basic ")
        assert body == event
    finally:
        await runner.cleanup()


async def test_failed_webhook_deliveries_are_retried(sandbox: RunningSandbox) -> None:
    attempts: list[int] = []

    async def flaky(_request: web.Request) -> web.Response:
        attempts.append(1)
        return web.json_response({}, status=503 if len(attempts) < 3 else 200)

    app = web.Application()
    app.router.add_post("/hook", flaky)
    runner, url = await serve(app, "127.0.0.1", 0)
    sandbox.empower.sender.backoff_seconds = 0.01
    sandbox.empower.webhook = WebhookTarget(url=f"{url}/hook", key="k")
    try:
        sandbox.empower.send_event({"callback_type": "NOTIFY_RX", "details": {}})
        await sandbox.empower.sender.drain()
        assert len(attempts) == 3
        assert sandbox.empower.sender.delivered() == 1
    finally:
        await runner.cleanup()


async def test_the_sandbox_command_serves_both_partners(tmp_path: Path) -> None:
    rx_port, em_port = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "connector",
        "sandbox",
        "--rxscale-port",
        str(rx_port),
        "--empower-port",
        str(em_port),
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        # A shell's background job starts with SIGINT ignored, and a child inherits that:
        # Ctrl-C is what this test sends, so the child gets the default back.
        preexec_fn=_default_sigint,
    )
    try:
        assert await wait_for_http(
            f"http://127.0.0.1:{rx_port}/v1/external_pharmacy_api/health/",
            within=15,
            headers={"X-API-Key": "rxs_sandbox_key"},
        )
        assert await wait_for_http(
            f"http://127.0.0.1:{em_port}/v1/products",
            within=5,
            headers={"Authorization": "Bearer emp_sandbox_key"},
        )
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), timeout=15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
