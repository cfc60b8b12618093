"""The JSON text frames a client receives, each serialised once for all its sockets."""

from __future__ import annotations

import json
from dataclasses import dataclass

from schemas.commands import OcrProgress
from schemas.events import EventEnvelope

_EVENT_FIELDS = {"position", "type", "aggregate_id", "version", "timestamp", "actor"}


@dataclass(frozen=True)
class Frame:
    """One text frame; ``position`` is set for events and guards against repeats."""

    text: str
    position: int | None = None


def event_frame(envelope: EventEnvelope) -> Frame:
    """Returns the frame that tells a client about one of its events."""
    body = {"kind": "event", **envelope.model_dump(mode="json", include=_EVENT_FIELDS)}
    body["data"] = envelope.data
    return Frame(json.dumps(body, separators=(",", ":")), envelope.position)


def progress_frame(progress: OcrProgress) -> Frame:
    """Returns the frame that tells a client how far OCR of a document has got."""
    body = {
        "kind": "progress",
        "document_id": str(progress.document_id),
        "stage": progress.stage,
        "page": progress.page,
        "pages": progress.pages,
    }
    return Frame(json.dumps(body, separators=(",", ":")))
