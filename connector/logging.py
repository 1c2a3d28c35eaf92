"""Logging: structlog, configured once. JSON lines when not on a terminal (for the
operations dashboard), readable console output when a person is watching.

Library loggers (aiohttp, SQLAlchemy) go through the same pipeline, so every line has the
same shape. The redaction processor is the last line of defence: the first is never to
hand patient data to a logger.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from connector.throttle import LogBudget

LogFormat = Literal["auto", "json", "console"]

REDACTED = "[redacted]"
PATIENT_KEYS = frozenset(
    {
        "first_name",
        "last_name",
        "display_name",
        "patient_name",
        "email",
        "date_of_birth",
        "dob",
        "phone",
        "address",
        "delivery_address",
        "invoice_address",
        "shipping_address",
        "street",
        "house_number",
        "zip_code",
        "city",
        "patient_data",
        "prescription_file",
        "content_base64",
        "document",
    }
)


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: REDACTED if key in PATIENT_KEYS else _redact(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def redact_patient_fields(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    for key in list(event_dict):
        if key in PATIENT_KEYS:
            event_dict[key] = REDACTED
        elif isinstance(event_dict[key], Mapping | list | tuple):
            event_dict[key] = _redact(event_dict[key])
    return event_dict


def _rename_event_to_message_free(
    _logger: WrappedLogger, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # Library loggers pass free text as the event; keep it under `message` and give them a
    # stable event name, so a dashboard can filter on `event` alone.
    record = event_dict.get("_record")
    if record is not None and not record.name.startswith("connector"):
        event_dict["message"] = event_dict.get("event")
        event_dict["event"] = "library_log"
    return event_dict


WITHHELD = "[withheld]"


def _render_exception_safely(
    _logger: WrappedLogger, _method: str, event_dict: EventDict
) -> EventDict:
    """An exception as its types and frames only: never the locals of a frame (they hold
    request bodies) and never its message (a library may quote its input in it). What is
    safe to say about an error is logged as a field by the code that caught it."""
    exc_info = event_dict.pop("exc_info", None)
    if not exc_info:
        return event_dict
    if exc_info is True:
        exc_info = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if not isinstance(exc_info, tuple) or exc_info[1] is None:
        return event_dict
    event_dict["exception"] = describe_exception(exc_info[1])
    return event_dict


def describe_exception(error: BaseException) -> list[dict[str, Any]]:
    """Each exception of the chain, outermost last: type, message withheld, frames."""
    chain: list[dict[str, Any]] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(chain) < 8:
        seen.add(id(current))
        frames = [
            {"filename": frame.filename, "lineno": frame.lineno, "name": frame.name}
            for frame in traceback.extract_tb(current.__traceback__, limit=50)
        ]
        chain.append(
            {
                "exc_type": type(current).__qualname__,
                "exc_module": type(current).__module__,
                "exc_value": WITHHELD,
                "frames": frames,
            }
        )
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    chain.reverse()
    return chain


def _console_exception(sio: TextIO, exc_info: Any) -> None:
    """The console's traceback: the same facts as the JSON one, plainly."""
    error = exc_info[1] if isinstance(exc_info, tuple) else None
    if error is None:
        return
    for link in describe_exception(error):
        sio.write(f"\n{link['exc_module']}.{link['exc_type']}: {WITHHELD}")
        for frame in link["frames"]:
            sio.write(f"\n  {frame['filename']}:{frame['lineno']} in {frame['name']}")


def shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        redact_patient_fields,
        structlog.processors.StackInfoRenderer(),
    ]


def configure_logging(
    level: str = "info", log_format: LogFormat = "auto", stream: TextIO | None = None
) -> None:
    stream = stream if stream is not None else sys.stderr
    as_json = log_format == "json" or (log_format == "auto" and not _is_terminal(stream))
    shared = shared_processors()
    structlog.configure(
        # A line below the level is dropped before any processor runs: at `warning`, the
        # info line of every webhook costs next to nothing.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    final: list[Processor] = [
        _rename_event_to_message_free,
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
    ]
    if as_json:
        final += [_render_exception_safely, structlog.processors.JSONRenderer()]
    else:
        final.append(
            structlog.dev.ConsoleRenderer(
                colors=_is_terminal(stream), exception_formatter=_console_exception
            )
        )
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # Our own webhook and job events say more than an access line, without the noise.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # One line per database call at debug level says nothing an operator could use.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    server = logging.getLogger("aiohttp.server")
    server.filters = [f for f in server.filters if not isinstance(f, StrangerCausedLines)]
    server.addFilter(StrangerCausedLines())


class StrangerCausedLines(logging.Filter):
    """aiohttp's server logs a malformed request or a client that hangs up mid-body as an
    error with a traceback. Anyone on the internet can cause those: they become warnings
    naming the exception type, without the traceback, within a budget of lines."""

    def __init__(self, budget: LogBudget | None = None) -> None:
        super().__init__()
        self.budget = budget or LogBudget()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        error = record.exc_info[1] if record.exc_info else None
        kind = type(error).__name__ if error is not None else "none"
        held_back = self.budget.admit(f"{record.name}:{kind}")
        if held_back is None:
            return False
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        record.msg = f"{record.msg} ({kind}; {held_back} like it held back)"
        return True


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
