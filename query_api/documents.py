"""Reading documents from the read models: as they are, and as they were."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from infra.problems import Problem, not_found
from projectors.document_view import DocumentView, PageView, fold
from projectors.postgres_documents import view_of_row
from schemas.events import EventEnvelope

_COLUMNS = (
    "id, owner_id, title, folder_id, tags, lang, ocr_status, ocr_reason, page_count,"
    " original_sha256, original_filename, content_type, size, pdf_sha256,"
    " archive_sha256, trashed, created_at, updated_at, version"
)


async def current_document(
    conn: AsyncConnection[Any], owner_id: UUID, document_id: UUID
) -> DocumentView:
    """Returns one of the owner's documents as it is now, or raises 404."""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"SELECT {_COLUMNS} FROM read_model.documents WHERE id = %s AND owner_id = %s",
        (document_id, owner_id),
    )
    row = await cursor.fetchone()
    if row is None:
        raise not_found("document")
    await cursor.execute(
        "SELECT number, text FROM read_model.pages WHERE document_id = %s"
        " ORDER BY number",
        (document_id,),
    )
    pages = [PageView(**page) for page in await cursor.fetchall()]
    return view_of_row(row, pages)


async def document_as_of(
    conn: AsyncConnection[Any], current: DocumentView, as_of: int | datetime
) -> DocumentView:
    """Returns a document as it stood at a version or a moment, or raises 404."""
    if isinstance(as_of, int) and as_of > current.version:
        raise Problem(
            404,
            "Not Found",
            f"Version {as_of} does not exist; the document is at version"
            f" {current.version}.",
        )
    bound = "version <= %s" if isinstance(as_of, int) else "timestamp <= %s"
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        "SELECT position, type, schema_version, version, timestamp, actor, data"
        f" FROM read_model.document_events WHERE document_id = %s AND {bound}"
        " ORDER BY version",
        (current.id, as_of),
    )
    envelopes = [
        EventEnvelope(**row, aggregate_id=current.id, owner_id=current.owner_id)
        for row in await cursor.fetchall()
    ]
    view = fold(envelopes)
    if view is None:
        raise Problem(404, "Not Found", "The document did not exist at that time.")
    return view


def parse_as_of(value: str) -> int | datetime:
    """Returns a version number or an aware timestamp, or raises 422."""
    if value.isascii() and value.isdigit():
        if len(value) > 18 or int(value) < 1:
            raise _invalid_as_of()
        return int(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _invalid_as_of() from None
    if moment.tzinfo is None:
        raise _invalid_as_of()
    return moment


def _invalid_as_of() -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        "as_of must be a version number from 1 or an ISO 8601 timestamp with"
        " a time zone, such as 2024-05-01T12:00:00Z.",
    )
