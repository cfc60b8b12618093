"""Log records about one event, with the context every projector record carries."""

from __future__ import annotations

import logging

from schemas.events import EventEnvelope
from schemas.subjects import event_subject


def log_event(
    logger: logging.Logger,
    level: int,
    what: str,
    envelope: EventEnvelope,
    error: Exception | None = None,
) -> None:
    """Logs what happened to an event, with its subject, position and aggregate."""
    logger.log(
        level,
        "%s: subject %s, position %s, aggregate %s%s",
        what,
        event_subject(envelope.type),
        envelope.position,
        envelope.aggregate_id,
        f": {error}" if error else "",
    )
