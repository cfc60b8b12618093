"""Folders and what they contain."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response
from psycopg import sql
from psycopg.rows import class_row

from infra.problems import not_found
from query_api.listing import (
    ListingOrder,
    PageParam,
    PageSizeParam,
    SortParam,
    page_of_ids,
)
from query_api.models import ChildPublic, ChildrenPage, FolderPublic
from query_api.session import Reader, ReaderDep

router = APIRouter(tags=["folders"])


async def find_folder(reader: Reader, folder_id: UUID) -> FolderPublic:
    """Returns one of the caller's folders, or raises 404."""
    cursor = reader.conn.cursor(row_factory=class_row(FolderPublic))
    await cursor.execute(
        "SELECT id, title, parent_id, created_at, updated_at, version"
        " FROM read_model.folders WHERE id = %s AND owner_id = %s",
        (folder_id, reader.principal.user_id),
    )
    folder = await cursor.fetchone()
    if folder is None:
        raise not_found("folder")
    return folder


@router.get("/api/folders/{folder_id}")
async def get_folder(
    folder_id: UUID, reader: ReaderDep, response: Response
) -> FolderPublic:
    """Returns a folder; the ``ETag`` is its version."""
    folder = await find_folder(reader, folder_id)
    response.headers["ETag"] = f'"{folder.version}"'
    return folder


@router.get("/api/folders/{folder_id}/children")
async def list_children(
    folder_id: UUID,
    reader: ReaderDep,
    page: PageParam = 1,
    page_size: PageSizeParam = 50,
    sort: SortParam = ListingOrder.TITLE,
) -> ChildrenPage:
    """Lists the folders, then the documents not in the trash, inside a folder.

    `total` is the exact number of both.
    """
    params = {"folder": folder_id, "owner": reader.principal.user_id}
    counted = await reader.conn.execute(_COUNTS, params)
    counts = await counted.fetchone()
    if counts is None:
        raise not_found("folder")
    folders, documents = counts
    offset, items = (page - 1) * page_size, []
    if offset < folders:
        items += await _folders(reader, params, sort, page_size, offset)
    if len(items) < page_size and offset + len(items) < folders + documents:
        items += await _documents(
            reader,
            params,
            sort,
            page_size - len(items),
            max(0, offset - folders),
        )
    return ChildrenPage(
        items=items, total=folders + documents, page=page, page_size=page_size
    )


async def _folders(
    reader: Reader, params: dict[str, UUID], sort: ListingOrder, limit: int, offset: int
) -> list[ChildPublic]:
    cursor = reader.conn.cursor(row_factory=class_row(ChildPublic))
    await cursor.execute(
        _FOLDERS.format(order=sort.sql()),
        {**params, "limit": limit, "offset": offset},
    )
    return await cursor.fetchall()


async def _documents(
    reader: Reader, params: dict[str, UUID], sort: ListingOrder, limit: int, offset: int
) -> list[ChildPublic]:
    cursor = reader.conn.cursor(row_factory=class_row(ChildPublic))
    await cursor.execute(
        page_of_ids(_DOCUMENT_IDS, _DOCUMENT_COLUMNS, sort),
        {**params, "limit": limit, "offset": offset},
    )
    return await cursor.fetchall()


# The folder must be the caller's; documents are counted by the caller too, with
# an index-only scan of the listing's index.
_COUNTS = """
    SELECT
        (SELECT count(*) FROM read_model.folders c
         WHERE c.parent_id = f.id AND c.owner_id = f.owner_id),
        (SELECT count(*) FROM read_model.documents d
         WHERE d.owner_id = f.owner_id AND d.folder_id = f.id AND NOT d.trashed)
    FROM read_model.folders f WHERE f.id = %(folder)s AND f.owner_id = %(owner)s
"""
_FOLDERS = sql.SQL(
    """
    SELECT 'folder' AS kind, id, title, created_at, updated_at
    FROM read_model.folders WHERE parent_id = %(folder)s AND owner_id = %(owner)s
    ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s
"""
)
_DOCUMENT_IDS = """
    SELECT id FROM read_model.documents d
    WHERE d.owner_id = %(owner)s AND d.folder_id = %(folder)s AND NOT d.trashed
"""
_DOCUMENT_COLUMNS = (
    "'document' AS kind, d.id, d.title, d.created_at, d.updated_at, d.tags,"
    " d.ocr_status, d.page_count"
)
