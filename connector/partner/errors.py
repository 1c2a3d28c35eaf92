"""From a partner's HTTP answer to our error types: the one mapping of status codes and
`Retry-After`, shared by both adapters (they differ only in where the message is)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from connector.domain.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    Partner,
    PartnerError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from connector.partner.http import HttpReply


def error_for_status(
    partner: Partner,
    operation: str,
    status: int,
    message: str,
    *,
    retry_after: float | None = None,
    request_id: str | None = None,
) -> PartnerError:
    """The one mapping from a partner's HTTP status to our error types."""
    if status == 429:
        return RateLimitedError(
            partner, operation, message, retry_after=retry_after, request_id=request_id
        )
    kind: type[PartnerError]
    if status in (401, 403):
        kind = AuthError
    elif status == 404:
        kind = NotFoundError
    elif status == 409:
        kind = ConflictError
    elif status == 408 or status >= 500:
        kind = TransientError
    elif 400 <= status < 500:
        kind = PermanentError
    else:
        kind, message = TransientError, f"unexpected HTTP {status}: {message}"
    return kind(partner, operation, message, status=status, request_id=request_id)


def error_for_reply(
    partner: Partner,
    operation: str,
    reply: HttpReply,
    message: str,
    *,
    request_id: str | None = None,
) -> PartnerError:
    """The error for a non-2xx answer, with its `Retry-After` read."""
    return error_for_status(
        partner,
        operation,
        reply.status,
        message,
        retry_after=parse_retry_after(reply.headers.get("Retry-After"), datetime.now(UTC)),
        request_id=request_id,
    )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
