"""Logging: structlog, configured once. JSON lines when not on a terminal (for the
operations dashboard), readable console output when a person is watching.

Library loggers (aiohttp, SQLAlchemy) go through the same pipeline, so every line has the
same shape. The redaction processor is the last line of defence: the first is never to
hand patient data to a logger.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

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
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    final: list[Processor] = [
        _rename_event_to_message_free,
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
    ]
    if as_json:
        final += [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    else:
        final.append(structlog.dev.ConsoleRenderer(colors=_is_terminal(stream)))
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


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
