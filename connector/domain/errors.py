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


class UnreadableResponse(TransientError):
    """A success status whose body is not what the contract says. Retried like any
    transient failure, for either partner: a create answered unreadably may still have
    taken effect, and a proxy's error page can pass for a success. A lasting contract
    change shows as a dead job with this message."""


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


def unexpected(error: BaseException) -> str:
    """An error nobody planned for, told by its type and where it was raised, never by its
    message: a library's message may quote the data it choked on, and this text is stored
    with the job and logged."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    if frame is None:
        return f"{type(error).__name__} (message withheld)"
    code = frame.tb_frame.f_code
    where = "/".join(code.co_filename.rsplit("/", 2)[-2:])
    return f"{type(error).__name__} in {code.co_name} ({where}:{frame.tb_lineno}; message withheld)"
