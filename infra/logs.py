"""Logging set-up shared by every Paperledger process."""

from __future__ import annotations

import logging
import sys

CHATTY_LIBRARIES = (
    "uvicorn.access",
    "uvicorn.error",
    "ocrmypdf",
    "eventsourcing",
    "nats",
    "httpx",
    "opensearch",
)


def configure_logging(component: str, level: str = "INFO") -> None:
    """Sends records to stderr, each stamped with the time and its component."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(
            f"%(asctime)s %(levelname)-7s {component} %(name)s: %(message)s",
            datefmt="%H:%M:%S",
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries are chatty at INFO; an operator wants Paperledger's own records.
    for library in CHATTY_LIBRARIES:
        logging.getLogger(library).setLevel(logging.WARNING)
