"""Render docs/dashboard.png: the Grafana dashboard's main panels, computed from real
/metrics scrapes of a connector working through a minute of mixed traffic.

    .venv/bin/pip install matplotlib && .venv/bin/python docs/tools/render_dashboard.py

Not a test and not a dependency of the connector: it only illustrates the operations guide.
"""

from __future__ import annotations

import asyncio
import bisect
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import aiohttp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from connector.devstack import LocalStack, StackOptions
from connector.logging import configure_logging
from connector.sandbox.empower_records import FulfilmentScript
from connector.sandbox.faults import FaultRule

Sample = dict[tuple[str, tuple[tuple[str, str], ...]], float]
SECONDS = 60
WINDOW = 5  # seconds over which rates are taken, like rate(...[5m]) but shorter
OUT = Path(__file__).resolve().parents[1] / "dashboard.png"
UNMAPPED = [{"uid": "oi-x", "amount": 1, "sku": {"uid": "sku-unknown"}, "pharmacy_sku": None}]


async def scrape(session: aiohttp.ClientSession, url: str) -> Sample:
    async with session.get(f"{url}/metrics") as response:
        text = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def traffic(stack: LocalStack, started: float) -> None:
    empower = stack.sandbox.empower
    async with aiohttp.ClientSession() as session:
        for second in range(SECONDS - 10):
            stack.push_orders(3)
            if second % 10 == 5:
                stack.push_orders(1, items=UNMAPPED)  # cannot be mapped: on hold
            if second == 20:  # Empower has a bad spell
                empower.faults.add(FaultRule(method="POST", path="/v1/*", status=503, times=40))
            if 30 <= second < 35:  # someone probes the endpoint with a wrong signature
                await session.post(
                    f"{stack.daemon.url}/webhooks/rxscale",
                    data=b"{}",
                    headers={"X-Webhook-Signature": "00"},
                )
            await asyncio.sleep(max(0.0, started + second + 1 - time.monotonic()))


def series(samples: list[Sample], name: str, group: str | None = None) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(samples))
    for i, sample in enumerate(samples):
        for (n, labels), value in sample.items():
            if n == name:
                key = dict(labels).get(group, name) if group else name
                out[key][i] += value
    return dict(out)


def rate(values: list[float]) -> list[float]:
    return [(values[i] - values[max(0, i - WINDOW)]) / WINDOW for i in range(len(values))]


def p95(samples: list[Sample], partner: str) -> list[float]:
    """histogram_quantile(0.95) over the last WINDOW seconds, by partner."""
    result = []
    for i in range(len(samples)):
        buckets: dict[float, float] = defaultdict(float)
        for s in (samples[i], samples[max(0, i - WINDOW)]):
            sign = 1 if s is samples[i] else -1
            for (n, labels), value in s.items():
                ls = dict(labels)
                if n.endswith("_bucket") and ls.get("partner") == partner:
                    buckets[float(ls["le"])] += sign * value
        bounds = sorted(buckets)
        if not bounds or buckets[bounds[-1]] <= 0:
            result.append(float("nan"))
            continue
        counts = [buckets[b] for b in bounds]
        rank = 0.95 * counts[-1]
        k = bisect.bisect_left(counts, rank)
        result.append(bounds[min(k, len(bounds) - 2)] if bounds[k] == float("inf") else bounds[k])
    return result


def plot(samples: list[Sample]) -> None:
    t = list(range(len(samples)))
    fig, axes = plt.subplots(3, 2, figsize=(14, 11))
    fig.suptitle("RxScale ↔ Empower connector — dashboard panels from a live run", fontsize=14)

    ax = axes[0][0]
    for state, values in sorted(series(samples, "connector_orders", "state").items()):
        if max(values) > 0:
            ax.plot(t, values, label=state)
    ax.set_title("Orders by state")

    ax = axes[0][1]
    webhooks: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(samples))
    for i, sample in enumerate(samples):
        for (n, labels), value in sample.items():
            if n == "connector_webhooks_received_total":
                ls = dict(labels)
                webhooks[f"{ls['source']} {ls['outcome']}"][i] += value
    for label, values in sorted(webhooks.items()):
        ax.plot(t, rate(values), label=label)
    ax.set_title("Webhooks received (per second)")

    ax = axes[1][0]
    jobs: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(samples))
    for i, sample in enumerate(samples):
        for (n, labels), value in sample.items():
            if n == "connector_jobs_total":
                jobs[dict(labels)["outcome"]][i] += value
    for label, values in sorted(jobs.items()):
        ax.plot(t, rate(values), label=label)
    ax.set_title("Jobs by outcome (per second)")

    ax = axes[1][1]
    ax.plot(t, series(samples, "connector_jobs_queued")["connector_jobs_queued"], label="queued")
    ax.plot(
        t,
        series(samples, "connector_oldest_due_job_age_seconds")[
            "connector_oldest_due_job_age_seconds"
        ],
        label="oldest due job (s)",
    )
    ax.set_title("Queue")

    ax = axes[2][0]
    for partner in ("rxscale", "empower"):
        ax.plot(t, [v * 1000 for v in p95(samples, partner)], label=partner)
    ax.set_title("Partner latency p95 (ms, histogram buckets)")

    ax = axes[2][1]
    by_class: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(samples))
    for i, sample in enumerate(samples):
        for (n, labels), value in sample.items():
            if n == "connector_upstream_request_duration_seconds_count":
                ls = dict(labels)
                by_class[f"{ls['partner']} all"][i] += value
                if ls["status_class"] in ("5xx", "error"):
                    by_class[f"{ls['partner']} error"][i] += value
    for partner in ("rxscale", "empower"):
        errors, total = rate(by_class[f"{partner} error"]), rate(by_class[f"{partner} all"])
        ax.plot(t, [e / a if a else 0.0 for e, a in zip(errors, total, strict=True)], label=partner)
    ax.set_title("Partner error ratio (5xx and no answer)")

    for row in axes:
        for ax in row:
            ax.set_xlabel("seconds")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(OUT, dpi=90)


async def main() -> None:
    options = StackOptions(
        fulfilment=FulfilmentScript(processing_after=0.5, ship_after=2.0, deliver_after=4.0)
    )
    options.worker = {**options.worker, "concurrency": 4, "backoff_base_seconds": 0.5}
    with tempfile.TemporaryDirectory() as scratch:
        async with LocalStack(Path(scratch), options) as stack, aiohttp.ClientSession() as session:
            started = time.monotonic()
            load = asyncio.create_task(traffic(stack, started))
            samples = []
            for second in range(SECONDS):
                samples.append(await scrape(session, stack.daemon.url))
                await asyncio.sleep(max(0.0, started + second + 1 - time.monotonic()))
            await load
    plot(samples)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    configure_logging("critical", "json")
    asyncio.run(main())
