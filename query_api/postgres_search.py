"""Search on PostgreSQL full-text: the embedded default adapter of the search port."""

from __future__ import annotations

import html
import logging
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from projectors.text import TEXT_SEARCH_CONFIGS
from query_api.postgres_tsquery import (
    CompiledQuery,
    Fragments,
    atom_requests,
    compile_query,
)
from query_api.search import MARK_END, MARK_START, SearchHit, SearchQuery, SearchResults
from query_api.search_syntax import Atom, SearchExpression, parse

logger = logging.getLogger(__name__)

# ts_headline cannot escape HTML, so it marks with characters from Unicode's
# private use area; the snippet is escaped and they become <mark> afterwards.
_START, _END = "\ue000", "\ue001"
# ts_headline reads the whole text; a snippet comes from the start of a long page.
_HEADLINE_CHARS = 20_000
_HEADLINE = f"StartSel={_START}, StopSel={_END}, MaxWords=35, MinWords=12"
NEAR_WORDS = 3
PREFIX_WORDS = 16


class PostgresSearch:
    """Searches a user's documents with ``tsquery``, in two SQL statements.

    The first analyses each word, phrase and prefix in every text-search
    configuration and finds near spellings and prefixed words in the user's
    vocabulary; the second matches whole documents on ``documents.match_vector``
    (title, tags and all pages, in the configuration of the document's language),
    counts, orders and pages them, and reads only the pages of the hits it shows.
    """

    # TODO: phrases are matched on match_vector, whose positions stop growing at
    # 16,383, so a phrase far into a very long document is missed, and one that
    # spans a page break or the title and the first page is found; matching them
    # exactly needs a check of each candidate's pages.

    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def search(self, owner_id: UUID, query: SearchQuery) -> SearchResults:
        """Returns the hits of ``query`` among the documents of ``owner_id``.

        Raises ``SearchSyntaxError`` for a query with nothing to search for.
        """
        expression = parse(query.text)
        async with self._pool.connection() as conn:
            compiled = await _compile(conn, owner_id, expression)
            if not compiled:
                return SearchResults(hits=(), total=0)
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                _search_statement(query, compiled), _params(owner_id, query, compiled)
            )
            rows = await cursor.fetchall()
        hits = tuple(_hit(row) for row in rows if row["id"] is not None)
        return SearchResults(hits=hits, total=int(rows[0]["total"]))


async def _compile(
    conn: AsyncConnection[Any], owner_id: UUID, expression: SearchExpression
) -> dict[str, CompiledQuery]:
    requests = atom_requests(expression)
    params = {
        "owner": owner_id,
        "kinds": [r.kind for _, r in requests],
        "texts": [r.text for _, r in requests],
        "fuzzy": [r.fuzzy for _, r in requests],
        "started": [r.started for _, r in requests],
        "configs": list(TEXT_SEARCH_CONFIGS),
        "near_words": NEAR_WORDS,
        "prefix_words": PREFIX_WORDS,
    }
    cursor = conn.cursor()
    await cursor.execute(_ANALYSE, params)
    fragments: dict[str, dict[Atom, Fragments]] = {}
    for index, config, own, widened in await cursor.fetchall():
        atom = requests[index - 1][0]
        fragments.setdefault(config, {})[atom] = Fragments(own, tuple(widened))
    compiled = {
        config: compile_query(expression, atoms) for config, atoms in fragments.items()
    }
    logger.debug("compiled %r into %s", expression, compiled)
    return {config: query for config, query in compiled.items() if query}


def _params(
    owner_id: UUID, query: SearchQuery, compiled: dict[str, CompiledQuery]
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "owner": owner_id,
        "tags": list(query.tags),
        "folder_id": query.folder_id,
        "created_from": query.created_from,
        "created_to": query.created_to,
        "ocr_status": query.ocr_status,
        "limit": query.page_size,
        "offset": (query.page - 1) * query.page_size,
        "headline_chars": _HEADLINE_CHARS,
        "headline": _HEADLINE,
    }
    for config, compiled_query in compiled.items():
        params[f"match_{config}"] = compiled_query.match
        params[f"positive_{config}"] = compiled_query.positive
    # Whatever its configuration, a matching document matches this one query, so
    # the GIN index finds the candidates in one scan.
    params["match_any"] = " | ".join(f"( {q.match} )" for q in compiled.values())
    params["configs"] = list(compiled)
    params["matches"] = [q.match for q in compiled.values()]
    return params


def _search_statement(
    query: SearchQuery, compiled: dict[str, CompiledQuery]
) -> sql.Composed:
    def by_config(kind: str) -> sql.Composable:
        return sql.SQL("CASE d.search_config {} ELSE ''::tsquery END").format(
            sql.SQL(" ").join(
                sql.SQL("WHEN {}::regconfig THEN {}::tsquery").format(
                    sql.Literal(config), sql.Placeholder(f"{kind}_{config}")
                )
                for config in compiled
            )
        )

    relevance = query.sort == "relevance"
    rank = sql.SQL("ts_rank(d.match_vector, {})").format(by_config("match"))
    return _SEARCH.format(
        subtree=_SUBTREE if query.folder_id else sql.SQL(""),
        match_query=by_config("match"),
        positive_query=by_config("positive"),
        filters=sql.SQL(" ").join(_filters(query)),
        early_score=rank if relevance else sql.SQL("NULL::real"),
        late_score=sql.SQL("m.score") if relevance else _LATE_RANK,
        order=sql.SQL(_ORDERS[query.sort].format("m")),
        shown_order=sql.SQL(_ORDERS[query.sort].format("s")),
    )


def _filters(query: SearchQuery) -> list[sql.Composable]:
    filters: list[sql.Composable] = []
    if query.tags:
        filters.append(sql.SQL("AND d.tags @> %(tags)s::text[]"))
    if query.folder_id:
        filters.append(sql.SQL("AND d.folder_id IN (SELECT id FROM subtree)"))
    if query.created_from:
        filters.append(sql.SQL("AND d.created_at >= %(created_from)s"))
    if query.created_to:
        filters.append(sql.SQL("AND d.created_at < %(created_to)s"))
    if query.ocr_status:
        filters.append(sql.SQL("AND d.ocr_status = %(ocr_status)s"))
    return filters


def _hit(row: dict[str, Any]) -> SearchHit:
    snippet = html.escape(row["snippet"], quote=False)
    return SearchHit(
        document_id=row["id"],
        title=row["title"],
        tags=tuple(row["tags"]),
        folder_id=row["folder_id"],
        pages=tuple(row["pages"] or ()),
        snippet=snippet.replace(_START, MARK_START).replace(_END, MARK_END),
        score=float(row["score"]),
        created_at=row["created_at"],
        snippet_page=row["best_page"],
    )


_ORDERS = {
    "relevance": "{0}.score DESC, {0}.id",
    "date": "{0}.created_at, {0}.id",
    "-date": "{0}.created_at DESC, {0}.id",
}
_LATE_RANK = sql.SQL(
    "ts_rank((SELECT d.match_vector FROM read_model.documents d WHERE d.id = m.id),"
    " m.query)"
)
_SUBTREE = sql.SQL(
    """
subtree(id) AS (
    SELECT f.id FROM read_model.folders f
    WHERE f.id = %(folder_id)s AND f.owner_id = %(owner)s
    UNION
    SELECT f.id FROM read_model.folders f JOIN subtree s ON f.parent_id = s.id
),"""
)
_KNOWN = sql.SQL(", ").join(
    sql.SQL("plainto_tsquery({}::regconfig, a.text)").format(sql.Literal(config))
    for config in TEXT_SEARCH_CONFIGS
)
# A fuzzy word that is in the user's vocabulary, or whose stem in any configuration
# is in one of the user's documents, is known and stays as it is; an unknown one is
# widened.
_ANALYSE = sql.SQL(
    """
WITH atoms AS (
    SELECT * FROM unnest(%(kinds)s::text[], %(texts)s::text[], %(fuzzy)s::boolean[],
                         %(started)s::text[])
        WITH ORDINALITY AS a(kind, text, fuzzy, started, i)
), unknown AS MATERIALIZED (
    SELECT a.i, a.text FROM atoms a
    WHERE a.fuzzy AND CASE
        WHEN EXISTS (SELECT 1 FROM read_model.vocabulary v
                     WHERE v.owner_id = %(owner)s AND v.word = a.text) THEN false
        ELSE NOT EXISTS (
            SELECT 1 FROM read_model.documents d
            WHERE d.owner_id = %(owner)s AND NOT d.trashed
              AND d.match_vector @@ (SELECT string_agg(q::text, ' | ')::tsquery
                                     FROM unnest(ARRAY[{known}]) AS q
                                     WHERE q::text <> '')
              AND read_model.matches(d.match_vector, d.search_config,
                                     %(configs)s::regconfig[], ARRAY[{known}]))
    END
), words AS MATERIALIZED (
    SELECT u.i, near.word FROM unknown u CROSS JOIN LATERAL (
        SELECT v.word FROM read_model.vocabulary v
        WHERE v.owner_id = %(owner)s AND v.word %% u.text
        ORDER BY similarity(v.word, u.text) DESC, v.word LIMIT %(near_words)s
    ) near
    UNION ALL
    SELECT a.i, started.word FROM atoms a CROSS JOIN LATERAL (
        SELECT v.word FROM read_model.vocabulary v
        WHERE v.owner_id = %(owner)s
          AND v.word >= a.started AND v.word < a.started || chr(1114111)
        ORDER BY v.word LIMIT %(prefix_words)s
    ) started
    WHERE a.started IS NOT NULL
)
SELECT a.i, c.config::text,
    CASE a.kind
        WHEN 'phrase' THEN phraseto_tsquery(c.config, a.text)
        WHEN 'prefix' THEN to_tsquery(c.config, a.text || ':*')
        ELSE plainto_tsquery(c.config, a.text)
    END::text,
    ARRAY(SELECT plainto_tsquery(c.config, w.word)::text FROM words w
          WHERE w.i = a.i ORDER BY w.word)
FROM atoms a CROSS JOIN unnest(%(configs)s::regconfig[]) AS c(config)
"""
).format(known=_KNOWN)
_SEARCH = sql.SQL(
    """
WITH RECURSIVE {subtree} matches AS (
    SELECT d.id, d.title, d.tags, d.folder_id, d.created_at,
        d.search_config AS config, {match_query} AS query,
        {positive_query} AS positive, {early_score} AS score
    FROM read_model.documents d
    WHERE d.owner_id = %(owner)s AND NOT d.trashed
      AND d.match_vector @@ %(match_any)s::tsquery
      AND read_model.matches(d.match_vector, d.search_config,
                             %(configs)s::regconfig[], %(matches)s::tsquery[])
      {filters}
), shown AS (
    SELECT m.id, m.title, m.tags, m.folder_id, m.created_at, m.config, m.positive,
        {late_score} AS score
    FROM matches m ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s
)
SELECT t.total, s.id, s.title, s.tags, s.folder_id, s.created_at, s.score,
    p.pages, p.best_page,
    ts_headline(s.config,
        coalesce((SELECT left(pg.text, %(headline_chars)s) FROM read_model.pages pg
                  WHERE pg.document_id = s.id AND pg.number = p.best_page), s.title),
        s.positive, %(headline)s) AS snippet
FROM (SELECT count(*) AS total FROM matches) t
LEFT JOIN shown s ON true
LEFT JOIN LATERAL (
    SELECT array_agg(pg.number ORDER BY pg.number) AS pages,
        (array_agg(pg.number ORDER BY ts_rank(pg.search_vector, s.positive) DESC,
                   pg.number))[1] AS best_page
    FROM read_model.pages pg
    WHERE pg.document_id = s.id AND pg.search_vector @@ s.positive
) p ON true
ORDER BY {shown_order}
"""
)
