"""One runner for the benchmarks: `python -m bench <name> [options]`.

intake   webhook acknowledgement throughput and latency against bare aiohttp
fuzz     hostile requests against a real connector process (docs/security.md)
parked   a new order's latency under a flood of news about unknown orders
"""

from __future__ import annotations

import asyncio
import sys

BENCHMARKS = ("intake", "fuzz", "parked")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHMARKS:
        print(__doc__, file=sys.stderr)
        return 2
    name, rest = argv[0], argv[1:]
    if name == "intake":
        from bench import intake

        return intake.main(rest)
    sys.argv = [f"bench {name}", *rest]
    if name == "fuzz":
        from bench import fuzz

        return fuzz.main()
    from bench import parked_news

    return asyncio.run(parked_news.main())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
