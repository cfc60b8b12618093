"""Keeps bearer tokens that browsers pass as ``?token=`` out of log records."""

from __future__ import annotations

import logging
import re

# The ASGI server logs every websocket's path with its query string.
SERVER_LOGGERS = ("uvicorn.error", "uvicorn.access")

_TOKEN_VALUE = re.compile(r"(?<=token=)[^&\s\"']+")


def redact(text: str) -> str:
    """Returns ``text`` with the value of every ``token=`` parameter hidden."""
    return _TOKEN_VALUE.sub("***", text)


class TokenRedactor(logging.Filter):
    """Hides token values in a record's message and its string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrites the record in place and always lets it through."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def redact_server_logs() -> None:
    """Adds the redactor to the server's loggers, once."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedactor) for f in logger.filters):
            logger.addFilter(TokenRedactor())
