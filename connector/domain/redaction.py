"""Removing patient values from free text that is about to be stored or logged."""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"


def scrub(text: str, sensitive: Iterable[str]) -> str:
    """Replace every occurrence of a known patient value in `text`, ignoring case."""
    values = sorted({v for v in sensitive if v.strip()}, key=len, reverse=True)
    if not values:
        return text
    pattern = re.compile("|".join(re.escape(v) for v in values), re.IGNORECASE)
    return pattern.sub(REDACTED, text)
