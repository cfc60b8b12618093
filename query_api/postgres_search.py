"""Search on PostgreSQL full-text: the embedded default adapter of the search port."""

from __future__ import annotations

import dataclasses
import html
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from projectors.text import clean
from query_api.search import MARK_END, MARK_START, SearchHit, SearchQuery, SearchResults

# ts_headline cannot escape HTML, so it marks with characters from Unicode's
# private use area; the snippet is escaped and they become <mark> afterwards.
_START, _END = "\ue000", "\ue001"
# ts_headline reads the whole text; a snippet comes from the start of a long page.
_HEADLINE_CHARS = 20_000


class PostgresSearch:
    """Searches titles, tags and page texts with ``websearch_to_tsquery``.

    A document matches when its title and tags, or one of its pages, match the
    whole query; each is read with the text-search configuration of the
    document's language.
    """

    # TODO: a query whose terms are split between the title and a page does not
    # match yet; it needs a document-wide vector that long documents overflow.

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def search(self, owner_id: UUID, query: SearchQuery) -> SearchResults:
        """Returns the hits of ``query`` among the documents of ``owner_id``."""
        filters = [sql.SQL("")]
        if query.tags:
            filters.append(sql.SQL("AND d.tags @> %(tags)s::text[]"))
        if query.folder_id:
            filters.append(sql.SQL("AND d.folder_id = %(folder_id)s"))
        params = {
            "q": clean(query.text),
            "owner": owner_id,
            "tags": [clean(tag) for tag in query.tags],
            "folder_id": query.folder_id,
            "limit": query.page_size,
            "offset": (query.page - 1) * query.page_size,
            "headline_chars": _HEADLINE_CHARS,
            "options": f"StartSel={_START}, StopSel={_END}, MaxWords=35, MinWords=12",
        }
        statement = _SEARCH.format(filters=sql.SQL(" ").join(filters))
        async with self._pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(statement, params)
            rows = await cursor.fetchall()
        total = int(rows[0]["total"]) if rows else await self._count(owner_id, query)
        return SearchResults(hits=tuple(map(_hit, rows)), total=total)

    async def _count(self, owner_id: UUID, query: SearchQuery) -> int:
        if query.page == 1:
            return 0
        # Past the last page no row carries the total; ask for the first page.
        first = dataclasses.replace(query, page=1, page_size=1)
        return (await self.search(owner_id, first)).total


def _hit(row: dict[str, Any]) -> SearchHit:
    snippet = html.escape(row["snippet"], quote=False)
    return SearchHit(
        document_id=row["id"],
        title=row["title"],
        tags=tuple(row["tags"]),
        folder_id=row["folder_id"],
        pages=tuple(row["pages"]),
        snippet=snippet.replace(_START, MARK_START).replace(_END, MARK_END),
        score=float(row["score"]),
    )


_ANY_CONFIG = (
    "(websearch_to_tsquery('english', %(q)s) || websearch_to_tsquery('german', %(q)s)"
    " || websearch_to_tsquery('simple', %(q)s))"
)
_CONFIG = (
    "CASE split_part(d.lang, '+', 1) WHEN 'eng' THEN 'english'::regconfig"
    " WHEN 'deu' THEN 'german'::regconfig ELSE 'simple'::regconfig END"
)
_SEARCH = sql.SQL(
    f"""
WITH candidates AS MATERIALIZED (
    SELECT d.id, d.title, d.tags, d.folder_id, d.search_vector, {_CONFIG} AS config
    FROM read_model.documents d
    WHERE d.owner_id = %(owner)s AND NOT d.trashed {{filters}}
      AND (d.search_vector @@ {_ANY_CONFIG}
           OR d.id IN (SELECT p.document_id FROM read_model.pages p
                       WHERE p.search_vector @@ {_ANY_CONFIG}))
), queried AS (
    SELECT c.*, websearch_to_tsquery(c.config, %(q)s) AS query FROM candidates c
), page_hits AS (
    SELECT p.document_id, p.number, ts_rank(p.search_vector, q.query) AS rank
    FROM read_model.pages p JOIN queried q ON q.id = p.document_id
    WHERE p.search_vector @@ q.query
), hits AS (
    SELECT q.id, q.title, q.tags, q.folder_id, q.config, q.query,
        ts_rank(q.search_vector, q.query) + coalesce(max(h.rank), 0) AS score,
        coalesce(array_agg(h.number ORDER BY h.number)
                 FILTER (WHERE h.number IS NOT NULL), '{{{{}}}}') AS pages,
        (array_agg(h.number ORDER BY h.rank DESC, h.number))[1] AS best_page
    FROM queried q LEFT JOIN page_hits h ON h.document_id = q.id
    GROUP BY q.id, q.title, q.tags, q.folder_id, q.config, q.query, q.search_vector
    HAVING q.search_vector @@ q.query OR count(h.number) > 0
), shown AS (
    SELECT h.*, count(*) OVER () AS total FROM hits h
    ORDER BY h.score DESC, h.id LIMIT %(limit)s OFFSET %(offset)s
)
SELECT h.id, h.title, h.tags, h.folder_id, h.pages, h.score, h.total,
    ts_headline(h.config,
        coalesce((SELECT left(p.text, %(headline_chars)s) FROM read_model.pages p
                  WHERE p.document_id = h.id AND p.number = h.best_page), h.title),
        h.query, %(options)s) AS snippet
FROM shown h
ORDER BY h.score DESC, h.id
"""
)
