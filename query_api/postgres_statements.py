"""The SQL of a search on PostgreSQL: the page of hits, the count and the walk.

Every statement reads the parameters ``PostgresSearch`` binds: the owner, the
compiled queries per configuration (``match_<config>``, ``positive_<config>``
and ``match_any``), the tiers of rank keys, the filters and the paging.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from query_api.postgres_tsquery import CompiledQuery
from query_api.search import SearchQuery


@dataclass(frozen=True)
class Count:
    """The count of a search apart from its page, and the planner's guess of it."""

    statement: sql.Composed
    expected: sql.Composed


@dataclass(frozen=True)
class Statements:
    """The statements of a search: the page, the count apart from it, and the walk.

    By relevance the count is apart, as ranking needs none of its rows. By date the
    page statement counts the matches it orders, and ``walk`` finds the page by
    walking the user's documents in date order, without a count.
    """

    page: sql.Composed
    count: Count
    walk: sql.Composed | None


def search_statements(
    query: SearchQuery, compiled: dict[str, CompiledQuery]
) -> Statements:
    """Returns the statements of ``query``, in the configurations it was compiled in."""

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
    filters = sql.SQL(" ").join(_filters(query))
    subtree = _SUBTREE if query.folder_id else sql.SQL("")
    rank = sql.SQL("ts_rank(d.match_vector, {})").format(by_config("match"))

    def search(
        sources: sql.Composable, page: sql.Composable, total: sql.Composable
    ) -> sql.Composed:
        return _SEARCH.format(
            subtree=subtree,
            sources=sources,
            page=page,
            order=sql.SQL(_ORDERS[query.sort].format("p")),
            positive_query=by_config("positive"),
            score=sql.SQL("p.score") if relevance else rank,
            total=total,
            tiered=_TIERED if relevance else sql.SQL("false"),
            shown_order=sql.SQL(_ORDERS[query.sort].format("s")),
        )

    count = _COUNT.format(subtree=subtree, counted=_COUNTED.format(filters=filters))
    expected = _EXPECTED.format(subtree=subtree, filters=filters)
    if relevance:
        ranked = _RANKED.format(filters=filters)
        page = search(ranked, _RELEVANCE_PAGE.format(rank=rank), _NO_TOTAL)
        return Statements(page, Count(count, expected), None)
    walked = _WALKED.format(
        within=sql.SQL(" ").join(_created_within(query)),
        order=sql.SQL(_ORDERS[query.sort].format("d")),
    )
    return Statements(
        search(_MATCHED.format(filters=filters), _DATE_PAGE, _TOTAL),
        Count(count, expected),
        search(walked, _WALKED_PAGE.format(filters=filters), _NO_TOTAL),
    )


def _filters(query: SearchQuery) -> list[sql.Composable]:
    filters: list[sql.Composable] = []
    if query.tags:
        filters.append(sql.SQL("AND d.tags @> %(tags)s::text[]"))
    if query.folder_id:
        filters.append(sql.SQL("AND d.folder_id IN (SELECT id FROM subtree)"))
    filters += _created_within(query)
    if query.ocr_status:
        filters.append(sql.SQL("AND d.ocr_status = %(ocr_status)s"))
    return filters


def _created_within(query: SearchQuery) -> list[sql.Composable]:
    within: list[sql.Composable] = []
    if query.created_from:
        within.append(sql.SQL("AND d.created_at >= %(created_from)s"))
    if query.created_to:
        within.append(sql.SQL("AND d.created_at < %(created_to)s"))
    return within


_ORDERS = {
    "relevance": "{0}.score DESC, {0}.id",
    "date": "{0}.created_at, {0}.id",
    "-date": "{0}.created_at DESC, {0}.id",
}
_SUBTREE = sql.SQL(
    """
subtree(id) AS (
    SELECT f.id FROM read_model.folders f
    WHERE f.id = %(folder_id)s AND f.owner_id = %(owner)s
    UNION
    SELECT f.id FROM read_model.folders f JOIN subtree s ON f.parent_id = s.id
),"""
)
# The owner's mark in match_any finds only the owner's documents. The owner and the
# trash are also checked in forms that no index answers (the documents' partial
# indexes are for documents not in the trash), so the planner takes the GIN index
# of match_vector: it does not know how dear reading a vector to match it is.
_BASE = """d.owner_id::text = %(owner)s::text AND d.trashed IS NOT TRUE
      AND d.match_vector @@ %(match_any)s::tsquery"""
# The planner's guesses of the documents that match, filters included, from the
# statistics of lexemes (the owner's mark among them) and tags, and of all
# documents.
_EXPECTED = sql.SQL(
    "EXPLAIN (FORMAT JSON) WITH RECURSIVE {subtree} matching AS ("
    " SELECT FROM read_model.documents d"
    " WHERE d.match_vector @@ %(match_any)s::tsquery {filters})"
    " SELECT FROM matching UNION ALL SELECT FROM read_model.documents d"
)
_TIERS = "array_to_string((%(tiers)s::text[])[1:{}], ' | ')::tsquery"
# Walks down the tiers until those so far hold enough matches for the page asked
# for, when ``tiered`` (there are more matches than are all ranked, or their count
# is not known yet); the documents of those tiers are ranked, or else every match.
_RANKED = sql.SQL(
    """
deep(k, enough) AS (
    SELECT 0, false
    UNION ALL
    SELECT w.k + 1, (
        SELECT count(*) FROM (
            SELECT FROM read_model.documents d
            WHERE """
    + _BASE
    + """
              AND d.rank_keys @@ """
    + _TIERS.format("w.k + 1")
    + """
              {filters}
            LIMIT %(needed)s) n) >= %(needed)s
    FROM deep w
    WHERE %(tiered)s AND NOT w.enough AND w.k < cardinality(%(tiers)s::text[])
), reached AS (
    SELECT max(k) FILTER (WHERE enough) AS k FROM deep
), candidates AS (
    SELECT d.id, d.created_at, d.match_vector, d.search_config
    FROM read_model.documents d
    WHERE (SELECT r.k FROM reached r) IS NULL AND """
    + _BASE
    + """
      {filters}
    UNION ALL
    SELECT d.id, d.created_at, d.match_vector, d.search_config
    FROM reached r, read_model.documents d
    WHERE """
    + _BASE
    + """
      AND d.rank_keys @@ """
    + _TIERS.format("r.k")
    + """
      {filters}
),"""
)
_RELEVANCE_PAGE = sql.SQL(
    "SELECT d.id, d.created_at, {rank} AS score FROM candidates d"
)
_DATE_PAGE = sql.SQL("SELECT m.id, m.created_at, NULL::real AS score FROM matched m")
# The user's documents in the date order asked for, within the dates asked for, as
# many as ``walk``, read from the owner's index of upload times. The page matches
# them one by one and stops when it has enough: the other filters and the match
# come after the limit, so the walk reads no more documents than it is allowed.
_WALKED = sql.SQL(
    """
walked AS (
    SELECT d.id, d.created_at, d.tags, d.folder_id, d.ocr_status, d.match_vector
    FROM read_model.documents d
    WHERE d.owner_id = %(owner)s AND NOT d.trashed {within}
    ORDER BY {order} LIMIT %(walk)s
),"""
)
_WALKED_PAGE = sql.SQL(
    """SELECT d.id, d.created_at, NULL::real AS score FROM walked d
    WHERE d.match_vector @@ %(match_any)s::tsquery {filters}"""
)
# Counting stops one past the limit, which tells that there are more.
_COUNTED = sql.SQL(
    """
counted AS (
    SELECT count(*) AS total FROM (
        SELECT FROM read_model.documents d
        WHERE """
    + _BASE
    + """
          {filters}
        LIMIT %(count_limit)s + 1) m
)"""
)
_COUNT = sql.SQL("WITH RECURSIVE {subtree} {counted} SELECT c.total FROM counted c")
# Ordering by date needs every match's upload time, which counts them all.
_MATCHED = sql.SQL(
    """
matched AS MATERIALIZED (
    SELECT d.id, d.created_at FROM read_model.documents d
    WHERE """
    + _BASE
    + """
      {filters}
), counted AS (
    SELECT count(*) AS total FROM matched
),"""
)
# By relevance the count comes from a statement of its own.
_TOTAL = sql.SQL("counted")
_NO_TOTAL = sql.SQL("(SELECT NULL::bigint AS total)")
# Whether the page was ranked from tiers of keys rather than from every match.
_TIERED = sql.SQL("(SELECT r.k FROM reached r) IS NOT NULL")
_SEARCH = sql.SQL(
    """
WITH RECURSIVE {subtree} {sources} page AS (
    SELECT p.id, p.score FROM ({page}) p
    ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s
), shown AS (
    SELECT d.id, d.title, d.tags, d.folder_id, d.created_at, d.search_config AS config,
        {positive_query} AS positive, {score} AS score
    FROM page p JOIN read_model.documents d ON d.id = p.id
)
SELECT t.total, {tiered} AS tiered, s.id, s.title, s.tags, s.folder_id, s.created_at,
    s.score, p.pages, p.best_page,
    ts_headline(s.config,
        coalesce((SELECT left(pg.text, %(headline_chars)s) FROM read_model.pages pg
                  WHERE pg.document_id = s.id AND pg.number = p.best_page), s.title),
        s.positive, %(headline)s) AS snippet
FROM {total} t
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
