"""Our own error types. Adapters translate every partner failure into one of these."""

from __future__ import annotations

from enum import StrEnum


class Partner(StrEnum):
    RXSCALE = "rxscale"
    EMPOWER = "empower"


class PartnerError(Exception):
    """A call to a partner did not succeed."""

    def __init__(
        self,
        partner: Partner,
        operation: str,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.partner = partner
        self.operation = operation
        self.message = message
        self.status = status
        self.request_id = request_id

    def describe(self) -> str:
        parts = [f"{self.partner.value} {self.operation}"]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        parts.append(self.message)
        if self.request_id:
            parts.append(f"request_id {self.request_id}")
        return ": ".join(parts[:1]) + ": " + ", ".join(parts[1:])

    def with_message(self, message: str) -> PartnerError:
        """The same failure with another message (used to scrub partner text)."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        Exception.__init__(clone, message)
        clone.message = message
        return clone


class TransientError(PartnerError):
    """Worth retrying: 5xx, timeouts, connection errors."""


class RateLimitedError(TransientError):
    """The partner asked us to slow down (429)."""

    def __init__(
        self,
        partner: Partner,
        operation: str,
        message: str,
        *,
        retry_after: float | None,
        status: int | None = 429,
        request_id: str | None = None,
    ) -> None:
        super().__init__(partner, operation, message, status=status, request_id=request_id)
        self.retry_after = retry_after


class PermanentError(PartnerError):
    """Retrying the same request cannot succeed: 4xx other than 408 and 429."""


class ConflictError(PermanentError):
    """409: the request conflicts with the partner's current state."""


class NotFoundError(PermanentError):
    """404: unknown, or (at RxScale) not accessible with this key."""


class AuthError(PartnerError):
    """401/403: our credentials are wrong for the whole partner, not for one order."""


class RetryLater(Exception):
    """Not a failure of the partner: what this job needs is not there yet."""


class MalformedDelivery(ValueError):
    """A webhook body that is not what the partner's contract says. The message names the
    problem and never echoes the body, which may carry patient data."""


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
