"""Publishes what the relay and the OCR workers would put on the bus."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from nats.aio.client import Client
from nats.js import JetStreamContext

from schemas.commands import OcrProgress
from schemas.events import EventEnvelope
from schemas.subjects import event_subject, progress_subject


def renamed(position: int, owner_id: uuid.UUID, size: int = 0) -> EventEnvelope:
    """Returns a ``Document.Renamed`` envelope at ``position`` of ``owner_id``.

    A ``size`` pads the data, to make frames that fill buffers quickly.
    """
    return EventEnvelope(
        position=position,
        type="Document.Renamed",
        schema_version=1,
        aggregate_id=uuid.uuid4(),
        version=2,
        timestamp=datetime.now(UTC),
        actor=str(owner_id),
        owner_id=owner_id,
        data={
            "title": f"document at {position}",
            **({"pad": "x" * size} if size else {}),
        },
    )


async def publish_event(js: JetStreamContext, envelope: EventEnvelope) -> None:
    """Publishes an envelope as the relay does, deduplicated by its position."""
    await js.publish(
        event_subject(envelope.type),
        envelope.model_dump_json().encode(),
        headers={"Nats-Msg-Id": str(envelope.position)},
    )


async def publish_progress(
    nc: Client, owner_id: uuid.UUID, document_id: uuid.UUID, page: int
) -> None:
    """Publishes OCR progress of one page as a worker does."""
    progress = OcrProgress(
        document_id=document_id, owner_id=owner_id, stage="page", page=page, pages=3
    )
    subject = progress_subject(owner_id, document_id)
    await nc.publish(subject, progress.model_dump_json().encode())
    await nc.flush()
