"""GET /metrics after real traffic: the figures move, and nothing identifying is in them."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from connector.devstack import LocalStack
from connector.domain.lifecycle import OrderState
from tests.e2e.conftest import MakeStack


async def scrape(
    stack: LocalStack,
) -> tuple[str, dict[tuple[str, frozenset[tuple[str, str]]], float]]:
    async with aiohttp.ClientSession() as session, session.get(f"{stack.daemon.url}/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, samples


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_follow_the_work_and_name_no_order(make_stack: MakeStack) -> None:
    stack = await make_stack()
    uids = stack.push_orders(2)
    records = await stack.wait_for_states(uids, {OrderState.DELIVERED})
    async with aiohttp.ClientSession() as session:
        forged = await session.post(
            f"{stack.daemon.url}/webhooks/rxscale",
            data=b"{}",
            headers={"X-Webhook-Signature": "0", "Content-Type": "application/json"},
        )
        assert forged.status == 401
    text, samples = await scrape(stack)

    assert (
        value(samples, "connector_webhooks_received_total", source="rxscale", outcome="enqueued")
        == 2
    )
    assert (
        value(
            samples, "connector_webhooks_received_total", source="rxscale", outcome="unauthorized"
        )
        == 1
    )
    assert (
        value(samples, "connector_webhooks_received_total", source="empower", outcome="enqueued")
        >= 6
    )
    for kind in ("accept_order", "place_order", "mark_in_progress", "empower_news"):
        assert value(samples, "connector_jobs_total", kind=kind, outcome="succeeded") >= 2, kind
    assert (
        value(
            samples,
            "connector_upstream_request_duration_seconds_count",
            partner="empower",
            operation="create_order",
            status_class="2xx",
        )
        == 2
    )
    assert value(samples, "connector_orders", state="delivered") == 2
    assert value(samples, "connector_orders", state="on_hold") == 0  # present, as a zero
    assert value(samples, "connector_jobs_dead") == 0
    assert value(samples, "connector_database_up") == 1
    assert value(samples, "connector_ready") == 1

    identifying = {uid for uid in uids}
    for record in records.values():
        identifying |= {record.empower_order_id or "", record.empower_request_id or ""}
        identifying |= set(record.empower_prescription_tokens)
        identifying.add(record.empower_patient_token or "")
    leaked = [v for v in identifying if v and v in text]
    assert leaked == []


async def test_metrics_report_failures_and_the_queue(make_stack: MakeStack) -> None:
    from connector.sandbox.faults import FaultRule

    stack = await make_stack(worker={"retry_for_seconds": 0.5})
    stack.sandbox.rxscale.faults.add(
        FaultRule(path="*/pharmacy_orders/po-*", status=503, times=None)
    )
    [uid] = stack.push_orders(1)

    async def dead_reported() -> bool:
        return value((await scrape(stack))[1], "connector_jobs_dead") == 1

    from connector.devstack import wait_until

    assert await wait_until(dead_reported, within=15)
    _, samples = await scrape(stack)
    retried = value(samples, "connector_jobs_total", kind="accept_order", outcome="retried")
    assert retried >= 1
    assert value(samples, "connector_jobs_total", kind="accept_order", outcome="dead") == 1
    assert (
        value(
            samples,
            "connector_upstream_request_duration_seconds_count",
            partner="rxscale",
            operation="get_order",
            status_class="5xx",
        )
        == retried + 1  # one call per attempt: every retry, and the last that gave up
    )
    assert value(samples, "connector_orders", state="received") == 1
    assert uid not in (await scrape(stack))[0]
