"""Logging set-up of the service processes: JSON lines (python-json-logger) or text.

NETZONE_LOG_FORMAT chooses (json by default in production, text elsewhere). Every line
logged while a request is being answered carries its request id. Uvicorn's own access
log is switched off: it prints query strings, and GET /graphql carries variables there;
netzone's access log (`netzone.access`, app.observability.requests) replaces it.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

from app.observability.requests import current_request_id
from app.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "process", "message")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to records logged while a request is answered."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request_id = current_request_id()
            if request_id is not None:
                record.request_id = request_id
        return True


class TextFormatter(logging.Formatter):
    """The text format, with the request id at the end of a request's lines."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{text} request_id={request_id}" if request_id else text


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        list(JSON_FIELDS),
        rename_fields={
            "asctime": "time",
            "levelname": "level",
            "name": "logger",
            "process": "pid",
        },
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing `log_format` ("json" or "text") lines to `stream` (stderr)."""
    out = logging.StreamHandler(stream or sys.stderr)
    out.setFormatter(formatter(log_format))
    out.addFilter(RequestIdFilter())
    return out


def formatter(log_format: str) -> logging.Formatter:
    return json_formatter() if log_format == "json" else TextFormatter(TEXT_FORMAT)


def dict_config(settings: Settings) -> dict[str, Any]:
    """The logging configuration of a service process (uvicorn's `log_config` takes it,
    and applies it in each worker process): every line through one handler in the
    configured format, uvicorn's included; uvicorn's access log off."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"netzone": {"()": formatter, "log_format": settings.log_format or "text"}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "netzone",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": settings.log_level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
        },
    }


def configure_logging(settings: Settings) -> None:
    """This process logs as `dict_config` says (the root logger's handlers are replaced)."""
    logging.config.dictConfig(dict_config(settings))
