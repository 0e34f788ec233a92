"""structlog set-up: JSON lines in production, readable in a terminal.

Request id, principal and organisation are bound as context variables by the request middleware
and merged into every line. Callers log ids only: never names, PINs, passwords, tokens or notes.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer


def configure_logging(*, level: str = "INFO", fmt: str = "json", stream: TextIO | None = None) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Tracebacks without local variables: a frame's locals may hold a PIN or password.
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
            if fmt == "json"
            else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    # uvicorn's own access log would repeat each request without our context; ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True
