"""Who the caller is."""

from __future__ import annotations

from fastapi import APIRouter
from psycopg.rows import class_row

from query_api.models import Me
from query_api.session import ReaderDep

router = APIRouter(tags=["users"])


@router.get("/api/me")
async def me(reader: ReaderDep) -> Me:
    """Returns the user the token belongs to, with their home and inbox folders."""
    cursor = reader.conn.cursor(row_factory=class_row(Me))
    await cursor.execute(
        "SELECT id, name, home_folder_id, inbox_folder_id FROM read_model.users"
        " WHERE id = %s",
        (reader.principal.user_id,),
    )
    found = await cursor.fetchone()
    assert found is not None  # authentication just read this user
    return found
