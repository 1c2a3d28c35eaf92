"""The operator commands as real processes, against a running stack."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from connector.devstack import LocalStack, wait_until
from connector.domain.jobs import JobState
from connector.domain.lifecycle import OrderState
from connector.sandbox.faults import FaultRule
from tests.e2e.conftest import MakeStack
from tests.e2e.processes import run_connector


def stack_env(stack: LocalStack, **overrides: str) -> dict[str, str]:
    """The environment an operator's shell would have for this installation."""
    s = stack.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env.update(
        CONNECTOR_DATABASE_URL=s.database_url,
        CONNECTOR_RXSCALE__BASE_URL=s.rxscale.base_url,
        CONNECTOR_RXSCALE__API_KEY=s.rxscale.api_key.get_secret_value(),
        CONNECTOR_RXSCALE__WEBHOOK_SECRETS=",".join(
            x.get_secret_value() for x in s.rxscale.webhook_secrets
        ),
        CONNECTOR_EMPOWER__BASE_URL=s.empower.base_url,
        CONNECTOR_EMPOWER__API_KEY=s.empower.api_key.get_secret_value(),
        CONNECTOR_EMPOWER__WEBHOOK_KEYS=",".join(
            x.get_secret_value() for x in s.empower.webhook_keys
        ),
    )
    env.update(overrides)
    return env


async def connector(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    return await run_connector(*args, env=env)


def json_objects(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def test_check_reports_every_part_ok(make_stack: MakeStack) -> None:
    stack = await make_stack()
    code, out, err = await connector(stack_env(stack), "check", "--json")
    assert code == 0, out + err
    checks = {c["name"]: c for c in json_objects(out)}
    assert set(checks) == {
        "configuration",
        "database",
        "rxscale api",
        "rxscale webhooks",
        "empower api",
    }
    assert all(c["ok"] for c in checks.values())
    assert "products listed" in checks["empower api"]["detail"]
    settings = stack.settings
    secrets = [
        settings.rxscale.api_key,
        settings.empower.api_key,
        *settings.rxscale.webhook_secrets,
        *settings.empower.webhook_keys,
    ]
    assert not [s for s in secrets if s.get_secret_value() in out + err]


async def test_check_says_what_failed_and_why(make_stack: MakeStack, tmp_path: Path) -> None:
    stack = await make_stack()
    for uid, subscription in list(stack.sandbox.rxscale.subscriptions.items()):
        if subscription.notification_type == "pharmacy_order_updated":
            del stack.sandbox.rxscale.subscriptions[uid]
    env = stack_env(
        stack,
        CONNECTOR_EMPOWER__API_KEY="revoked",
        CONNECTOR_DATABASE_URL=f"sqlite:///{tmp_path}/never-created.db",
    )
    code, out, _ = await connector(env, "check")
    assert code == 1
    status = {line[8:25].strip(): line.split()[0] for line in out.splitlines()}
    assert status == {
        "configuration": "ok",
        "database": "FAILED",
        "rxscale api": "ok",
        "rxscale webhooks": "FAILED",
        "empower api": "FAILED",
    }
    assert "does not exist yet" in out
    assert "no subscription for pharmacy_order_updated" in out
    assert "empower list_products: HTTP 401" in out
    assert not (tmp_path / "never-created.db").exists()


async def test_webhooks_are_registered_once_and_their_secrets_shown_once(
    make_stack: MakeStack,
) -> None:
    stack = await make_stack()
    env = {
        k: v
        for k, v in stack_env(stack).items()
        if k not in ("CONNECTOR_RXSCALE__WEBHOOK_SECRETS", "CONNECTOR_EMPOWER__API_KEY")
    }  # a first set-up: no signing secrets yet, Empower not configured
    code, out, err = await connector(
        env, "webhooks", "register", "--public-url", "https://pharmacy.example.org"
    )
    assert code == 0, err
    created = [
        s
        for s in stack.sandbox.rxscale.subscriptions.values()
        if "pharmacy.example.org" in s.target
    ]
    assert len(created) == 3
    assert {s.target for s in created} == {"https://pharmacy.example.org/webhooks/rxscale"}
    for subscription in created:
        assert subscription.signing_secret in out
    again_code, again, _ = await connector(
        env, "webhooks", "register", "--public-url", "https://pharmacy.example.org/"
    )
    assert again_code == 0
    assert "already subscribed" in again
    assert "whsec_" not in again
    _, listed, _ = await connector(env, "webhooks", "list", "--json")
    listing = json_objects(listed)
    assert len(listing) == 6  # the stack's own three, and these
    assert all("signing_secret" not in item for item in listing)
    rotation = "https://pharmacy.example.org/?rotation=2"  # new secrets, same route
    code, out, _ = await connector(env, "webhooks", "register", "--public-url", rotation)
    assert code == 0
    rotated = [s for s in stack.sandbox.rxscale.subscriptions.values() if "rotation" in s.target]
    assert {s.target for s in rotated} == {
        "https://pharmacy.example.org/webhooks/rxscale?rotation=2"
    }
    assert len(rotated) == 3
    code, _, _ = await connector(env, "webhooks", "remove", created[0].uid)
    assert code == 0
    assert created[0].uid not in stack.sandbox.rxscale.subscriptions
    code, _, err = await connector(
        env, "webhooks", "register", "--public-url", "http://pharmacy.example.org"
    )
    assert code == 1
    assert "https://" in err


async def test_dead_jobs_are_listed_and_retried(make_stack: MakeStack) -> None:
    stack = await make_stack(worker={"retry_for_seconds": 0.5})
    stack.sandbox.rxscale.faults.add(
        FaultRule(path="*/pharmacy_orders/po-*", status=503, times=None)
    )
    [uid] = stack.push_orders(1)
    env = stack_env(stack)

    async def dead() -> bool:
        _, out, _ = await connector(env, "jobs", "list", "--dead", "--json")
        return any(job["order_uid"] == uid for job in json_objects(out))

    assert await wait_until(dead, within=20, interval=0.5)
    _, out, _ = await connector(env, "jobs", "list", "--dead", "--json")
    [job] = [j for j in json_objects(out) if j["order_uid"] == uid]
    assert job["state"] == JobState.DEAD.value
    assert "HTTP 503" in job["last_error"]

    stack.sandbox.rxscale.faults.clear()  # the outage is over
    code, out, _ = await connector(env, "jobs", "retry", "--all-dead")
    assert code == 0
    assert str(job["id"]) in out
    records = await stack.wait_for_states([uid], {OrderState.DELIVERED})
    assert records[uid].state is OrderState.DELIVERED
    code, _, err = await connector(env, "jobs", "retry", str(job["id"]))
    assert code == 1
    assert "no dead or failed job matched" in err


async def test_orders_are_listed_and_shown(make_stack: MakeStack) -> None:
    stack = await make_stack()
    [uid] = stack.push_orders(1)
    await stack.wait_for_states([uid], {OrderState.DELIVERED})
    env = {"CONNECTOR_DATABASE_URL": stack.settings.database_url}
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}, **env}
    _, out, _ = await connector(env, "orders", "list", "--state", "delivered", "--json")
    [listed] = json_objects(out)
    assert listed["rxscale_uid"] == uid
    assert listed["empower_order_id"].startswith("ord_")
    code, out, _ = await connector(env, "orders", "show", uid, "--json")
    assert code == 0
    shown = json.loads(out)
    moves = [h["kind"] for h in shown["history"] if h["to_state"]]
    assert moves == ["received", "accept", "place", "start", "complete", "deliver"]
    patient = stack.sandbox.rxscale.orders[uid].document["patient_data"]
    for value in (patient["display_name"], patient["email"], patient["date_of_birth"]):
        assert value not in out
    _, text, _ = await connector(env, "orders", "show", uid)
    assert "history:" in text
    code, _, err = await connector(env, "orders", "show", "po-unknown")
    assert code == 1
    assert "no order 'po-unknown'" in err
