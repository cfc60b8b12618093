"""What browsing lists share: sort orders, paging and reading a page of documents."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import Query
from psycopg import sql

PageParam = Annotated[int, Query(ge=1, le=1_000_000)]
PageSizeParam = Annotated[int, Query(ge=1, le=100)]


class ListingOrder(StrEnum):
    """How a listing is sorted; a leading ``-`` gives the exact reverse order."""

    TITLE = "title"
    TITLE_DESC = "-title"
    CREATED = "created_at"
    CREATED_DESC = "-created_at"
    UPDATED = "updated_at"
    UPDATED_DESC = "-updated_at"

    def sql(self, table: str | None = None) -> sql.Composable:
        """Returns the ORDER BY list, ties broken by id in the same direction."""
        column = self.value.lstrip("-")
        direction = sql.SQL("DESC" if self.value.startswith("-") else "ASC")
        qualify = (
            (lambda name: sql.Identifier(table, name)) if table else sql.Identifier
        )
        key: sql.Composable = qualify(column)
        if column == "title":
            key = sql.SQL("lower({})").format(key)
        return sql.SQL("{key} {direction}, {id} {direction}").format(
            key=key, direction=direction, id=qualify("id")
        )


SortParam = Annotated[
    ListingOrder,
    Query(description="A leading `-` reverses the order, ties included."),
]


def page_of_ids(ids: str, columns: str, order: ListingOrder) -> sql.Composed:
    """Returns a statement that reads one page of the documents ``ids`` selects.

    ``ids`` selects ``id`` from ``read_model.documents d``; the page is found on
    the sort order's index alone (an index-only scan skips the offset), and only
    the rows shown are read from the table, as ``d``.
    """
    return sql.SQL(
        "SELECT {columns} FROM ({ids} ORDER BY {order}"
        " LIMIT %(limit)s OFFSET %(offset)s) p"
        " JOIN read_model.documents d ON d.id = p.id ORDER BY {order}"
    ).format(
        columns=sql.SQL(columns),
        ids=sql.SQL(ids),
        order=order.sql("d"),
    )
