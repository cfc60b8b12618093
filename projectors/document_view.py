"""The state of one document, folded from its events; shared by projector and reads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from projectors.errors import EventOutOfPlaceError
from schemas import events as ev
from schemas.events import EventEnvelope, validate_event

OcrStatus = Literal["pending", "completed", "failed"]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class PageView(_View):
    """The text OCR read on one page."""

    number: int
    text: str


class OriginalView(_View):
    """The file as it was uploaded."""

    sha256: str
    filename: str
    content_type: str
    size: int


class DocumentView(_View):
    """A document as it stands after some prefix of its events."""

    id: UUID
    owner_id: UUID
    title: str
    folder_id: UUID
    tags: tuple[str, ...] = ()
    lang: str
    ocr_status: OcrStatus = "pending"
    ocr_reason: str | None = None
    page_count: int
    pages: tuple[PageView, ...] = ()
    original: OriginalView
    pdf_sha256: str
    archive_sha256: str | None = None
    trashed: bool = False
    created_at: datetime
    updated_at: datetime
    version: int


def evolve(view: DocumentView | None, envelope: EventEnvelope) -> DocumentView:
    """Returns the document after one of its events; a replayed event changes nothing.

    Raises ``UnknownEventError`` or ``pydantic.ValidationError`` for an envelope the
    contract rejects and ``EventOutOfPlaceError`` for one that does not fit the view.
    """
    data = validate_event(envelope)
    if view is None:
        if not isinstance(data, ev.DocumentUploaded):
            raise EventOutOfPlaceError(f"{envelope.type} before Document.Uploaded")
        return _created(envelope, data)
    if view.id != envelope.aggregate_id:
        raise EventOutOfPlaceError(f"{envelope.type} of another document")
    if envelope.version <= view.version:
        return view
    if isinstance(data, ev.DocumentUploaded):
        raise EventOutOfPlaceError("Document.Uploaded of an existing document")
    changes = _changes(view, data)
    if changes is None:
        # A stale OCR outcome: only the version moves on, so the ETag stays the one
        # the command API checks If-Match against.
        return view.model_copy(update={"version": envelope.version})
    changes.update(updated_at=envelope.timestamp, version=envelope.version)
    return view.model_copy(update=changes)


def fold(envelopes: Iterable[EventEnvelope]) -> DocumentView | None:
    """Returns the document after all of ``envelopes``, or None if there are none."""
    view: DocumentView | None = None
    for envelope in envelopes:
        view = evolve(view, envelope)
    return view


def _created(envelope: EventEnvelope, data: ev.DocumentUploaded) -> DocumentView:
    if envelope.owner_id is None:
        raise EventOutOfPlaceError("Document.Uploaded without an owner")
    return DocumentView(
        id=envelope.aggregate_id,
        owner_id=envelope.owner_id,
        title=data.title,
        folder_id=data.folder_id,
        lang=data.lang,
        page_count=data.page_count,
        original=OriginalView(**data.original.model_dump()),
        pdf_sha256=data.pdf_sha256,
        created_at=envelope.timestamp,
        updated_at=envelope.timestamp,
        version=envelope.version,
    )


_Change = dict[str, object]


def _changes(view: DocumentView, data: object) -> _Change | None:
    """Returns the fields an event changes, or None for a stale OCR outcome."""
    match data:
        case ev.DocumentRenamed(title=title):
            return {"title": title}
        case ev.DocumentMoved(folder_id=folder_id):
            return {"folder_id": folder_id}
        case ev.DocumentTagged(tag=tag):
            return {} if tag in view.tags else {"tags": (*view.tags, tag)}
        case ev.DocumentUntagged(tag=tag):
            return {"tags": tuple(kept for kept in view.tags if kept != tag)}
        case ev.DocumentTrashed():
            return {"trashed": True}
        case ev.DocumentRestored():
            return {"trashed": False}
        case ev.DocumentOcrCompleted():
            return _ocr_completed(view, data) if _current(view, data) else None
        case ev.DocumentOcrFailed(reason=reason):
            if not _current(view, data):
                return None
            return {
                "ocr_status": "failed",
                "ocr_reason": reason,
                "archive_sha256": None,
                "pages": (),
            }
    raise EventOutOfPlaceError(f"{type(data).__name__} is not a document event")


def _current(
    view: DocumentView, data: ev.DocumentOcrCompleted | ev.DocumentOcrFailed
) -> bool:
    return data.pdf_sha256 == view.pdf_sha256


def _ocr_completed(view: DocumentView, data: ev.DocumentOcrCompleted) -> _Change:
    pages = sorted(data.pages, key=lambda page: page.number)
    return {
        "ocr_status": "completed",
        "ocr_reason": None,
        "archive_sha256": data.archive_sha256,
        "lang": data.lang,
        "pages": tuple(PageView(number=p.number, text=p.text) for p in pages),
    }
