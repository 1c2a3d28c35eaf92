"""A database outage is ridden out: 503s meanwhile, nothing crashes, nothing is lost."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from connector.devstack import LocalStack, StackOptions, wait_until
from connector.domain.lifecycle import OrderState
from connector.store.database import Database
from connector.store.migrate import upgrade_to_head
from tests.e2e.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres


async def test_the_daemon_rides_out_a_database_outage(postgres_url: str, tmp_path: Path) -> None:
    database = Database(postgres_url)
    await upgrade_to_head(database)
    await database.close()
    direct = make_url(postgres_url)
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
    await proxy.start()
    through_proxy = direct.set(host="127.0.0.1", port=proxy.port)
    options = StackOptions(database_url=through_proxy.render_as_string(hide_password=False))
    try:
        async with LocalStack(tmp_path, options) as stack, aiohttp.ClientSession() as http:
            [before] = stack.push_orders(1)
            await stack.wait_for_states([before], {OrderState.DELIVERED})

            await proxy.cut()
            secret = stack.settings.rxscale.webhook_secrets[0].get_secret_value()
            body = json.dumps(
                {"event_type": "pharmacy_order_created", "timestamp": 1, "data": {"uid": "po-x"}}
            ).encode()
            signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            async with http.post(
                f"{stack.daemon.url}/webhooks/rxscale",
                data=body,
                headers={"X-Webhook-Signature": signature, "Content-Type": "application/json"},
            ) as response:
                assert response.status == 503
            async with http.get(f"{stack.daemon.url}/readyz") as response:
                assert response.status == 503
                assert (await response.json())["checks"]["database"].startswith("unreachable")
            [during] = stack.push_orders(1)  # RxScale's delivery bounces and will be retried
            await asyncio.sleep(1.0)
            assert stack.daemon.tasks_alive()

            await proxy.restore()

            async def ready() -> bool:
                async with http.get(f"{stack.daemon.url}/readyz") as response:
                    return response.status == 200

            assert await wait_until(ready, within=10)
            records = await stack.wait_for_states([during], {OrderState.DELIVERED})
            assert records[during].state is OrderState.DELIVERED
            assert stack.daemon.tasks_alive()
            assert len(stack.sandbox.empower.orders_for(during)) == 1
    finally:
        await proxy.close()
