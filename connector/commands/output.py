"""How the commands speak: aligned tables for people, JSON lines for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from connector.text import table

EXIT_OK = 0
EXIT_FAILED = 1  # a check failed, or the request was refused


def json_lines(objects: Iterable[dict[str, Any]]) -> None:
    for obj in objects:
        print(json.dumps(obj, default=str))


def print_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    print(table([tuple(header), *(tuple(row) for row in rows)]))


def refuse(message: str) -> int:
    print(f"connector: {message}", file=sys.stderr)
    return EXIT_FAILED
