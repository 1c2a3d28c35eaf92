"""What a webhook request must look like before anything else is done with it.

The signature covers the bytes as received, so a body the server would have to decode
first (`Content-Encoding`) is refused rather than decompressed: neither partner compresses
its deliveries, and a decompressor is attack surface before authentication.
"""

from __future__ import annotations

from aiohttp import web

JSON_TYPES = frozenset({"application/json"})
IDENTITY = frozenset({"", "identity"})


def unfit_request(request: web.Request) -> tuple[int, str] | None:
    """The status and reason to refuse a webhook request with, or None when it may go on."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in IDENTITY:
        return 415, "Content-Encoding is not accepted; send the body as is"
    if request.content_type.lower() not in JSON_TYPES:
        return 415, "Content-Type must be application/json"
    return None
