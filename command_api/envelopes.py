"""Turns stored domain events into the envelopes of the public contract."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder, Notification

from schemas.events import EventEnvelope

# Attributes every event carries that the envelope holds outside ``data``.
_ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "originator_topic", "timestamp"}
    | {"actor", "owner_id"}
)
SCHEMA_VERSION = 1


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def event_type(domain_event: object) -> str:
    """Returns the contract name of an event, e.g. ``Document.Uploaded``."""
    return type(domain_event).__qualname__


def envelope_of(position: int, domain_event: Any) -> EventEnvelope:
    """Returns the envelope of one domain event stored at ``position``."""
    attributes = vars(domain_event)
    owner_id = attributes.get("owner_id")
    return EventEnvelope(
        position=position,
        type=event_type(domain_event),
        schema_version=SCHEMA_VERSION,
        aggregate_id=domain_event.originator_id,
        version=domain_event.originator_version,
        timestamp=domain_event.timestamp,
        actor=attributes.get("actor"),
        owner_id=owner_id,
        data={k: _plain(v) for k, v in attributes.items() if k not in _ENVELOPE_FIELDS},
    )


def decode(app: Application[UUID], notification: Notification) -> EventEnvelope:
    """Returns the envelope of one notification of ``app``'s log."""
    domain_event = app.mapper.to_domain_event(notification)
    return envelope_of(notification.id, domain_event)


def read_log(
    app: Application[UUID], after: int = 0, batch: int = 1000
) -> Iterator[EventEnvelope]:
    """Yields the envelope of every event in the log after position ``after``."""
    recorder = app.recorder
    assert isinstance(recorder, ApplicationRecorder)
    while True:
        notifications = recorder.select_notifications(
            after, batch, inclusive_of_start=False
        )
        if not notifications:
            return
        for notification in notifications:
            yield decode(app, notification)
        after = notifications[-1].id
