"""The public shapes of what the query API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from projectors.document_view import DocumentView, OcrStatus


class Me(BaseModel):
    """The user a token belongs to."""

    id: UUID
    name: str
    home_folder_id: UUID
    inbox_folder_id: UUID


class FolderPublic(BaseModel):
    """A folder; ``parent_id`` is null for the home and inbox folders."""

    id: UUID
    title: str
    parent_id: UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class ChildPublic(BaseModel):
    """A folder or document inside a folder; documents carry tags and OCR status."""

    kind: Literal["folder", "document"]
    id: UUID
    title: str
    created_at: datetime
    updated_at: datetime
    tags: list[str] | None = None
    ocr_status: OcrStatus | None = None
    page_count: int | None = None


class ChildrenPage(BaseModel):
    """One page of a folder's contents: folders first, then documents."""

    items: list[ChildPublic]
    total: int
    page: int
    page_size: int


class DocumentSummary(BaseModel):
    """A document as listings show it: where it is, its tags and OCR status."""

    id: UUID
    title: str
    folder_id: UUID
    tags: list[str]
    ocr_status: OcrStatus
    page_count: int
    created_at: datetime
    updated_at: datetime


class DocumentsPage(BaseModel):
    """One page of documents in the asked order; ``total`` counts them all."""

    items: list[DocumentSummary]
    total: int
    page: int
    page_size: int


class OcrPublic(BaseModel):
    """Where OCR of a document stands; ``reason`` says why it failed."""

    status: OcrStatus
    reason: str | None


class PagePublic(BaseModel):
    """The text OCR read on one page."""

    number: int
    text: str


class OriginalPublic(BaseModel):
    """The uploaded file."""

    filename: str
    content_type: str
    size: int


class DocumentPublic(BaseModel):
    """A document with its OCR text, as it stands now or stood at some moment."""

    id: UUID
    title: str
    folder_id: UUID
    tags: list[str]
    lang: str
    ocr: OcrPublic
    page_count: int
    pages: list[PagePublic]
    original: OriginalPublic
    trashed: bool
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, view: DocumentView) -> DocumentPublic:
        """Returns the public shape of a document view."""
        return cls(
            id=view.id,
            title=view.title,
            folder_id=view.folder_id,
            tags=list(view.tags),
            lang=view.lang,
            ocr=OcrPublic(status=view.ocr_status, reason=view.ocr_reason),
            page_count=view.page_count,
            pages=[PagePublic(number=p.number, text=p.text) for p in view.pages],
            original=OriginalPublic(
                filename=view.original.filename,
                content_type=view.original.content_type,
                size=view.original.size,
            ),
            trashed=view.trashed,
            created_at=view.created_at,
            updated_at=view.updated_at,
            version=view.version,
        )


class HistoryEvent(BaseModel):
    """One event in a document's history."""

    type: str = Field(examples=["Document.Renamed"])
    version: int
    position: int
    timestamp: datetime
    actor: str | None
    data: dict[str, Any]


class HistoryPage(BaseModel):
    """One page of a document's history, oldest first."""

    items: list[HistoryEvent]
    total: int
    page: int
    page_size: int


class SearchHitPublic(BaseModel):
    """A matching document: pages that match and a snippet with ``<mark>`` tags."""

    document_id: UUID
    title: str
    tags: list[str]
    folder_id: UUID
    pages: list[int]
    snippet: str
    snippet_page: int | None = None
    score: float
    created_at: datetime | None = None


class SearchPage(BaseModel):
    """One page of search hits in the asked order, and how many documents match.

    ``total`` is exact when ``total_exact``; otherwise counting stopped there and
    at least that many match.
    """

    items: list[SearchHitPublic]
    total: int
    total_exact: bool
    page: int
    page_size: int


class Health(BaseModel):
    """Tells that the service answers."""

    status: Literal["ok"] = "ok"
