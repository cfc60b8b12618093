"""Search on PostgreSQL full-text: the embedded default adapter of the search port."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from projectors.text import TEXT_SEARCH_CONFIGS
from query_api.postgres_statements import Count, Statements, search_statements
from query_api.postgres_tsquery import (
    CompiledQuery,
    Fragments,
    atom_requests,
    compile_query,
    rank_tiers,
)
from query_api.search import (
    COUNT_LIMIT,
    MARK_END,
    MARK_START,
    SearchHit,
    SearchQuery,
    SearchResults,
)
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
# Up to this many matches are all ranked; past it, only the best tiers of keys.
RANK_ALL = 200
# The share of all documents past which the planner's guess of a search's matches
# says that they are common.
COMMON_SHARE = 0.01
Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class PlannerGuess:
    """The planner's guesses of the documents a search matches, and of all."""

    matching: float
    documents: float

    def common(self, above: int) -> bool:
        """Tells whether the guess says the match is common, and above ``above``.

        The guess counts only when it says the match is common: a lexeme that the
        statistics do not list as frequent is guessed into at most one document in
        200, so fewer than one in 100 counts as none.
        """
        common = self.matching > self.documents * COMMON_SHARE
        return (self.matching if common else 0.0) > above


@dataclass(frozen=True)
class DateWalk:
    """When a search by date walks the user's documents in date order, and how far.

    Walking the documents newest (or oldest) first and matching each one's vector
    finds a page of a common word after a few dozen; sorting every match reads all
    of them. A document walked costs about as much as ``cost`` matches sorted (on
    the search benchmark's 100,000 documents, some 6.5 µs against 0.7 µs), so a
    search walks when the planner's guess of its matches says that is cheaper.
    The walk stops after ``margin`` times the documents expected to hold the page
    asked for, and at least ``least``; one that stops short of the page gives way
    to the sort.
    """

    cost: float = 10.0
    margin: float = 3.0
    least: int = 200

    def rows(self, guess: PlannerGuess, needed: int) -> int | None:
        """Returns how many documents to walk for ``needed`` hits; None to sort."""
        if guess.matching <= 0 or guess.documents <= 0:
            return None
        expected = needed * max(guess.documents / guess.matching, 1.0)
        if self.cost * expected >= guess.matching:
            return None
        return max(self.least, math.ceil(self.margin * expected))


class PostgresSearch:
    """Searches a user's documents with ``tsquery``, in one snapshot.

    The first statement analyses each word, phrase and prefix in every text-search
    configuration the user has documents in, and finds near spellings and prefixed
    words in the user's vocabulary. The others match whole documents on
    ``documents.match_vector`` (title, tags and all pages, in the configuration of
    the document's language), count them (up to ``count_limit``), order and page
    them, and read only the pages of the hits shown. By date one statement does
    all of that, unless the planner expects so many matches that walking the
    user's documents in date order finds the page sooner (``date_walk``). Then,
    and by relevance, the count is a statement of its own, which runs beside the
    page on a connection of ``count_pool`` when one is given.

    Matching and counting read the GIN index and no vector. Ranking reads the
    vectors of at most ``rank_all`` matches; past that, of the documents in the
    best tiers of ``documents.rank_keys`` (title, tags, then pages; most
    occurrences first) that hold enough matches for the page asked for.
    """

    # TODO: phrases are matched on match_vector, whose positions stop growing at
    # 16,383, so a phrase far into a very long document is missed, and one that
    # spans a page break or the title and the first page is found; matching them
    # exactly needs a check of each candidate's pages.

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        rank_all: int = RANK_ALL,
        count_limit: int = COUNT_LIMIT,
        *,
        count_pool: AsyncConnectionPool[Any] | None = None,
        alongside_above: int | None = None,
        date_walk: DateWalk | None = None,
    ) -> None:
        self._pool = pool
        self._date_walk = date_walk or DateWalk()
        self._count_pool = count_pool
        self._alongside_above = rank_all if alongside_above is None else alongside_above
        self._rank_all = rank_all
        self._count_limit = count_limit

    async def search(self, owner_id: UUID, query: SearchQuery) -> SearchResults:
        """Returns the hits of ``query`` among the documents of ``owner_id``.

        Raises ``SearchSyntaxError`` for a query with nothing to search for.
        """
        expression = parse(query.text)
        async with self._pool.connection() as conn, conn.transaction():
            # The count, when it runs alongside, reads this transaction's snapshot.
            # A sequential scan would read every vector to match it: the planner
            # does not know how dear reading a vector is.
            await conn.execute(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;"
                " SET LOCAL enable_seqscan = off"
            )
            compiled = await _compile(conn, owner_id, expression)
            if not compiled:
                return SearchResults(hits=(), total=0)
            params = _params(owner_id, query, compiled)
            params["count_limit"] = self._count_limit
            statements = search_statements(query, compiled)
            if query.sort == "relevance":
                total, rows = await self._count_and_page(conn, statements, params)
            else:
                total, rows = await self._by_date(conn, statements, params)
        hits = tuple(_hit(row) for row in rows if row["id"] is not None)
        exact = total <= self._count_limit
        return SearchResults(
            hits=hits, total=total if exact else self._count_limit, total_exact=exact
        )

    async def _count_and_page(
        self,
        conn: AsyncConnection[Any],
        statements: Statements,
        params: dict[str, Any],
    ) -> tuple[int, Rows]:
        """Returns the count and the page of hits ranked by relevance.

        When the planner expects more matches than ``alongside_above`` (the number
        all ranked, unless told otherwise) and there is a pool for counts, the count
        runs on a connection of its own, in the same snapshot, beside the page: a
        common word costs the longer of the two instead of both. That page walks
        the tiers of keys before it knows whether there are enough matches to need
        them, and is ranked again from every match when there are not. Otherwise
        the count comes first and tells the page whether to walk the tiers.
        """
        page, count = statements.page, statements.count
        if self._count_pool is None or not (
            await _guess(conn, count.expected, params)
        ).common(self._alongside_above):
            total = await _total(conn, count.statement, params)
            return total, await self._page(conn, page, params, total)
        tiered = {**params, "tiered": True}
        total, rows = await self._beside(
            conn, count, params, partial(_rows, conn, page, tiered)
        )
        if total <= self._rank_all and any(row["tiered"] for row in rows):
            rows = await self._page(conn, page, params, total)
        return total, rows

    async def _by_date(
        self,
        conn: AsyncConnection[Any],
        statements: Statements,
        params: dict[str, Any],
    ) -> tuple[int, Rows]:
        """Returns the count and the page of hits in date order.

        When the planner expects enough matches (``date_walk``), the page comes from
        a walk through the user's documents in that order, beside the count when
        there is a pool for counts; a walk that ends before the page does, while the
        count says there are more matches, gives way to sorting every match.
        """
        assert statements.walk is not None
        needed = params["needed"]
        # Past the count limit the count cannot tell a walk cut short from the end.
        walk = None
        if needed <= self._count_limit:
            guess = await _guess(conn, statements.count.expected, params)
            walk = self._date_walk.rows(guess, needed)
        if walk is None:
            rows = await _rows(conn, statements.page, params)
            return int(rows[0]["total"]), rows
        logger.debug("walking up to %s documents in date order", walk)
        walking = {**params, "walk": walk}
        page = partial(_rows, conn, statements.walk, walking)
        if self._count_pool is None:
            total = await _total(conn, statements.count.statement, params)
            rows = await page()
        else:
            total, rows = await self._beside(conn, statements.count, params, page)
        found = sum(row["id"] is not None for row in rows)
        if found < params["limit"] and total > params["offset"] + found:
            logger.debug("the walk found %s of %s hits; sorting them all", found, total)
            rows = await _rows(conn, statements.page, params)
        return total, rows

    async def _beside(
        self,
        conn: AsyncConnection[Any],
        count: Count,
        params: dict[str, Any],
        page: Callable[[], Awaitable[Rows]],
    ) -> tuple[int, Rows]:
        """Returns the count, run on a connection of the count pool, and the page.

        The count's connection imports the snapshot of ``conn``, so both see the
        same read models.
        """
        snapshot = await _one(conn, sql.SQL("SELECT pg_export_snapshot()"), {})
        counting = asyncio.create_task(
            self._count_alongside(snapshot, count.statement, params)
        )
        try:
            rows = await page()
        except BaseException:
            counting.cancel()
            await asyncio.gather(counting, return_exceptions=True)
            raise
        return await counting, rows

    async def _page(
        self,
        conn: AsyncConnection[Any],
        page: sql.Composed,
        params: dict[str, Any],
        total: int,
    ) -> list[dict[str, Any]]:
        """Returns the page of hits, from tiers of keys if there are enough matches."""
        tiered = total > self._rank_all
        return await _rows(conn, page, {**params, "tiered": tiered})

    async def _count_alongside(
        self, snapshot: str, statement: sql.Composed, params: dict[str, Any]
    ) -> int:
        assert self._count_pool is not None
        async with self._count_pool.connection() as conn, conn.transaction():
            # Beside the page is parallel enough; workers would compete with it.
            await conn.execute(
                sql.SQL(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;"
                    " SET TRANSACTION SNAPSHOT {};"
                    " SET LOCAL enable_seqscan = off;"
                    " SET LOCAL max_parallel_workers_per_gather = 0"
                ).format(sql.Literal(snapshot))
            )
            return await _total(conn, statement, params)


async def _rows(
    conn: AsyncConnection[Any], statement: sql.Composed, params: dict[str, Any]
) -> Rows:
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(statement, params)
    return await cursor.fetchall()


async def _one(
    conn: AsyncConnection[Any],
    statement: sql.SQL | sql.Composed,
    params: dict[str, Any],
) -> Any:
    cursor = await conn.execute(statement, params)
    row = await cursor.fetchone()
    assert row is not None
    return row[0]


async def _guess(
    conn: AsyncConnection[Any], statement: sql.Composed, params: dict[str, Any]
) -> PlannerGuess:
    plan = await _one(conn, statement, params)
    if isinstance(plan, str):
        plan = json.loads(plan)
    plans = [
        p
        for p in plan[0]["Plan"].get("Plans", [])
        if p["Parent Relationship"] == "Member"
    ]
    if len(plans) != 2:
        return PlannerGuess(0.0, 0.0)
    matching, documents = (float(p["Plan Rows"]) for p in plans)
    return PlannerGuess(matching, documents)


async def _total(
    conn: AsyncConnection[Any], statement: sql.Composed, params: dict[str, Any]
) -> int:
    return int(await _one(conn, statement, params))


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
        "needed": query.page * query.page_size,
        "headline_chars": _HEADLINE_CHARS,
        "headline": _HEADLINE,
    }
    for config, compiled_query in compiled.items():
        params[f"match_{config}"] = compiled_query.match
        params[f"positive_{config}"] = compiled_query.positive
    # Each configuration's query is ANDed with the owner's mark of it, so the GIN
    # index alone tells which documents match, whatever their configurations.
    params["match_any"] = " | ".join(
        f"( {q.match} ) & '{_mark(config, owner_id)}'" for config, q in compiled.items()
    )
    params["tiers"] = rank_tiers(q.positive for q in compiled.values())
    return params


def _mark(config: str, owner_id: UUID) -> str:
    """Returns the lexeme that marks the vectors of an owner's documents in ``config``.

    The trigger ``read_model.mark_search_vectors`` adds it to every match_vector.
    """
    return f" {config} {owner_id}"


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


_KNOWN = sql.SQL(", ").join(
    sql.SQL("({}::regconfig)").format(sql.Literal(config))
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
            WHERE d.owner_id::text = %(owner)s::text AND d.trashed IS NOT TRUE
              AND d.match_vector @@ (
                  SELECT string_agg(format('( %%s ) & %%L', q.query, q.mark), ' | ')
                  FROM (VALUES {known}) AS c(config), LATERAL (
                      SELECT plainto_tsquery(c.config, a.text)::text AS query,
                          ' ' || c.config::text || ' ' || %(owner)s::text AS mark
                  ) AS q
                  WHERE q.query <> '')::tsquery)
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
FROM atoms a CROSS JOIN (
    SELECT s.config FROM read_model.search_configs s
    WHERE s.owner_id = %(owner)s AND s.config = ANY(%(configs)s::regconfig[])
) AS c(config)
"""
).format(known=_KNOWN)
