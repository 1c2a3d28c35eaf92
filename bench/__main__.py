"""One runner for the benchmarks: `python -m bench <name> [options]`.

intake   webhook acknowledgement throughput and latency against bare aiohttp
metrics  what a scrape of /metrics costs with a year of orders, against a day's
fuzz     hostile requests against a real connector process (docs/security.md)
parked   a new order's latency under a flood of news about unknown orders
latency  webhook to Empower order, one order at a time, 0 ms partners
chaos    faults, outages and kills, with invariants checked from the partners' records
relay    a backlog under RxScale's rate limit: orders/s and RxScale calls per order
"""

from __future__ import annotations

import asyncio
import sys

BENCHMARKS = ("intake", "metrics", "fuzz", "parked", "chaos", "latency", "relay", "memory")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHMARKS:
        print(__doc__, file=sys.stderr)
        return 2
    name, rest = argv[0], argv[1:]
    sys.argv = [f"bench {name}", *rest]
    if name == "intake":
        from bench import intake

        return intake.main(rest)
    if name == "metrics":
        from bench import metrics_cost

        asyncio.run(metrics_cost.main())
        return 0
    if name == "fuzz":
        from bench import fuzz

        return fuzz.main()
    if name == "chaos":
        from bench import chaos

        return asyncio.run(chaos.main())
    if name == "memory":
        from bench import memory

        return asyncio.run(memory.main())
    if name == "relay":
        from bench import relay

        return asyncio.run(relay.main())
    if name == "latency":
        from bench import latency

        return asyncio.run(latency.main())
    from bench import parked_news

    return asyncio.run(parked_news.main())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
