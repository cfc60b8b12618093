"""Folders and what they contain."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from psycopg import sql
from psycopg.rows import class_row

from infra.problems import not_found
from query_api.models import ChildPublic, ChildrenPage, FolderPublic
from query_api.session import Reader, ReaderDep

router = APIRouter(tags=["folders"])


class ChildOrder(StrEnum):
    """How a folder's contents are sorted; a leading ``-`` means descending."""

    TITLE = "title"
    TITLE_DESC = "-title"
    CREATED = "created_at"
    CREATED_DESC = "-created_at"
    UPDATED = "updated_at"
    UPDATED_DESC = "-updated_at"


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
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
    sort: ChildOrder = ChildOrder.TITLE,
) -> ChildrenPage:
    """Lists the folders, then the documents not in the trash, inside a folder."""
    await find_folder(reader, folder_id)
    params = {"folder": folder_id, "owner": reader.principal.user_id}
    count = await reader.conn.execute(_COUNT, params)
    total = (await count.fetchone() or (0,))[0]
    cursor = reader.conn.cursor(row_factory=class_row(ChildPublic))
    await cursor.execute(
        _LIST.format(order=_order(sort)),
        {**params, "limit": page_size, "offset": (page - 1) * page_size},
    )
    items = await cursor.fetchall()
    return ChildrenPage(items=items, total=total, page=page, page_size=page_size)


def _order(sort: ChildOrder) -> sql.Composable:
    column = sort.value.lstrip("-")
    key = sql.SQL("lower(title)") if column == "title" else sql.Identifier(column)
    direction = sql.SQL("DESC" if sort.value.startswith("-") else "ASC")
    return sql.SQL("{} {}, id").format(key, direction)


_CHILDREN = """
    SELECT 'folder' AS kind, id, title, created_at, updated_at,
        NULL::text[] AS tags, NULL AS ocr_status, NULL::integer AS page_count
    FROM read_model.folders WHERE parent_id = %(folder)s AND owner_id = %(owner)s
    UNION ALL
    SELECT 'document', id, title, created_at, updated_at, tags, ocr_status, page_count
    FROM read_model.documents
    WHERE folder_id = %(folder)s AND owner_id = %(owner)s AND NOT trashed
"""
_COUNT = f"SELECT count(*) FROM ({_CHILDREN}) c"
_LIST = sql.SQL(
    f"SELECT * FROM ({_CHILDREN}) c ORDER BY kind = 'document', {{order}}"
    " LIMIT %(limit)s OFFSET %(offset)s"
)
