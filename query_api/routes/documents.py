"""Documents: their current state, their past states and their history."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from psycopg.rows import class_row

from query_api.documents import current_document, document_as_of, parse_as_of
from query_api.listing import (
    ListingOrder,
    PageParam,
    PageSizeParam,
    SortParam,
    page_of_ids,
)
from query_api.models import (
    DocumentPublic,
    DocumentsPage,
    DocumentSummary,
    HistoryEvent,
    HistoryPage,
)
from query_api.session import ReaderDep

router = APIRouter(tags=["documents"])

AsOf = Annotated[
    str | None,
    Query(
        max_length=64,
        description="A version number, or an ISO 8601 timestamp with a time zone:"
        " answer with the document as it stood then.",
    ),
]


@router.get("/api/documents")
async def list_documents(
    reader: ReaderDep,
    tag: Annotated[
        list[str] | None,
        Query(max_length=20, description="Only documents with all these tags."),
    ] = None,
    page: PageParam = 1,
    page_size: PageSizeParam = 50,
    sort: SortParam = ListingOrder.TITLE,
) -> DocumentsPage:
    """Lists the documents not in the trash, in every folder, with all given tags.

    `total` is the exact number of them.
    """
    params = {"owner": reader.principal.user_id, "tags": tag or []}
    matching = _MATCHING + (" AND d.tags @> %(tags)s::text[]" if tag else "")
    # Never prepared: a common tag is best filtered on the sort order's index and a
    # rare one found through the GIN index, and only a plan for the tags asked for
    # can tell which.
    counted = await reader.conn.execute(
        f"SELECT count(*) {matching}", params, prepare=False
    )
    total = (await counted.fetchone() or (0,))[0]
    cursor = reader.conn.cursor(row_factory=class_row(DocumentSummary))
    await cursor.execute(
        page_of_ids(f"SELECT d.id {matching}", _SUMMARY_COLUMNS, sort),
        {**params, "limit": page_size, "offset": (page - 1) * page_size},
        prepare=False,
    )
    items = await cursor.fetchall()
    return DocumentsPage(items=items, total=total, page=page, page_size=page_size)


@router.get("/api/documents/{document_id}")
async def get_document(
    document_id: UUID, reader: ReaderDep, response: Response, as_of: AsOf = None
) -> DocumentPublic:
    """Returns a document with its tags, OCR status and page texts.

    With ``as_of`` the document is shown as it stood at that version or moment,
    rebuilt from its history. The ``ETag`` is the version shown.
    """
    owner = reader.principal.user_id
    view = await current_document(reader.conn, owner, document_id)
    if as_of is not None:
        view = await document_as_of(reader.conn, view, parse_as_of(as_of))
    response.headers["ETag"] = f'"{view.version}"'
    return DocumentPublic.of(view)


@router.get("/api/documents/{document_id}/history")
async def get_history(
    document_id: UUID,
    reader: ReaderDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
) -> HistoryPage:
    """Lists every event of a document, oldest first, with who caused it and when."""
    view = await current_document(reader.conn, reader.principal.user_id, document_id)
    count = await reader.conn.execute(
        "SELECT count(*) FROM read_model.document_events WHERE document_id = %s",
        (view.id,),
    )
    total = (await count.fetchone() or (0,))[0]
    cursor = reader.conn.cursor(row_factory=class_row(HistoryEvent))
    await cursor.execute(
        "SELECT type, version, position, timestamp, actor, data"
        " FROM read_model.document_events WHERE document_id = %s"
        " ORDER BY version LIMIT %s OFFSET %s",
        (view.id, page_size, (page - 1) * page_size),
    )
    items = await cursor.fetchall()
    return HistoryPage(items=items, total=total, page=page, page_size=page_size)


_MATCHING = "FROM read_model.documents d WHERE d.owner_id = %(owner)s AND NOT d.trashed"
_SUMMARY_COLUMNS = (
    "d.id, d.title, d.folder_id, d.tags, d.ocr_status, d.page_count, d.created_at,"
    " d.updated_at"
)
