from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from infra.postgres import create_read_models
from projectors.postgres import project
from query_api.postgres_search import DateWalk, PlannerGuess, PostgresSearch
from query_api.postgres_tsquery import (
    AtomRequest,
    CompiledQuery,
    Fragments,
    atom_requests,
    compile_query,
    rank_tiers,
)
from query_api.search import COUNT_LIMIT, SearchOrder, SearchQuery
from query_api.search_syntax import Atom, Phrase, Term, parse
from schemas.events import EventEnvelope
from tests.conftest import Services
from tests.projectors.events import EventLog
from tests.query_api.search_contract import (
    SMALL_COUNT_LIMIT,
    Engine,
    Library,
    SearchContract,
)


@pytest.fixture(scope="class")
def shared_database_url(services: Services) -> str:
    """Returns a database for the whole class; each test's users are new to it."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = services.postgres.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = services.postgres.url.rsplit("/", 1)[0] + f"/{name}"
    create_read_models(url)
    return url


@pytest.fixture(scope="class")
async def pool(shared_database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        shared_database_url, open=False
    )
    await pool.open()
    yield pool
    await pool.close()


class TestPostgresSearch(SearchContract):
    @pytest.fixture
    async def engine(
        self,
        shared_database_url: str,
        pool: AsyncConnectionPool[Any],
        count_pool: AsyncConnectionPool[Any] | None,
    ) -> Engine:
        def apply(envelopes: list[EventEnvelope]) -> None:
            # Every test numbers its events from 1, so positions are not checked.
            with psycopg.connect(shared_database_url) as conn, conn.transaction():
                project(conn, envelopes)

        async def index(envelopes: list[EventEnvelope]) -> None:
            await asyncio.to_thread(apply, envelopes)

        def port(count_limit: int = COUNT_LIMIT) -> PostgresSearch:
            return PostgresSearch(
                pool,
                rank_all=self.rank_all,
                count_limit=count_limit,
                count_pool=count_pool,
                alongside_above=-1,
                date_walk=self.date_walk,
            )

        return Engine(port(), index, port(SMALL_COUNT_LIMIT))

    rank_all = 200
    # The planner's guesses on a few documents never make walking worth it.
    date_walk = DateWalk()

    @pytest.fixture
    async def count_pool(self) -> AsyncConnectionPool[Any] | None:
        """Returns the pool the count runs on beside the page; none: before it."""
        return None


class ArrivingPool(AsyncConnectionPool[Any]):
    """A pool that runs ``arrive`` once, before it hands out its next connection."""

    arrive: Callable[[], Awaitable[None]] | None = None

    @asynccontextmanager
    async def connection(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 (the pool's own signature)
    ) -> AsyncIterator[AsyncConnection[Any]]:
        if self.arrive is not None:
            arrive, self.arrive = self.arrive, None
            await arrive()
        async with super().connection(timeout) as conn:
            yield conn


class TestPostgresSearchCountingAlongside(TestPostgresSearch):
    """The contract again, each count beside the page on a connection of its own.

    Every search counts beside its page, whatever the planner expects, so every
    page walks the tiers of keys and is ranked again from every match when they
    turn out to be few.
    """

    @pytest.fixture
    async def count_pool(
        self, shared_database_url: str
    ) -> AsyncIterator[AsyncConnectionPool[Any] | None]:
        count_pool = ArrivingPool(
            shared_database_url, min_size=0, max_size=1, open=False
        )
        await count_pool.open()
        yield count_pool
        await count_pool.close()

    async def test_the_count_reads_the_snapshot_of_the_page(
        self, engine: Engine, count_pool: ArrivingPool
    ) -> None:
        log = EventLog()
        ada = log.register(f"ada-{uuid.uuid4().hex[:8]}")
        for title in ("Lighthouse one", "Lighthouse two", "Lighthouse three"):
            log.upload(ada, title)
        await engine.index(log.envelopes)
        log.upload(ada, "Lighthouse four")

        async def arrive() -> None:
            await engine.index(log.envelopes)

        # The fourth document commits after the page's snapshot is taken, before
        # the count starts.
        count_pool.arrive = arrive
        during = await engine.port.search(ada.id, SearchQuery("lighthouse"))
        after = await engine.port.search(ada.id, SearchQuery("lighthouse"))

        assert count_pool.arrive is None
        assert (during.total, len(during.hits)) == (3, 3)
        assert (after.total, len(after.hits)) == (4, 4)


class TestPostgresSearchRankingByTiers(TestPostgresSearch):
    """The contract again, with every search ranking only its best tiers of keys."""

    rank_all = 0

    @pytest.mark.parametrize("text", ["fox", "keeper", "dog", "tax", "fox OR dog"])
    async def test_ranking_by_tiers_pages_as_ranking_every_match_does(
        self, library: Library, pool: AsyncConnectionPool[Any], text: str
    ) -> None:
        everything = PostgresSearch(pool, rank_all=1000)

        for size in (1, 2, 3):
            for page in (1, 2, 3, 4):
                query = SearchQuery(text, page=page, page_size=size)
                by_tiers = await library.engine.port.search(library.ada.id, query)
                by_all = await everything.search(library.ada.id, query)

                assert by_tiers == by_all


class TestPostgresSearchWalkingByDate(TestPostgresSearch):
    """The contract again, with every search by date walking the documents in order.

    The walk is long enough for every page, so it never gives way to the sort.
    """

    date_walk = DateWalk(cost=0)

    @pytest.mark.parametrize("sort", ["date", "-date"])
    async def test_a_search_by_date_walks_and_finds_its_page_there(
        self, library: Library, caplog: pytest.LogCaptureFixture, sort: SearchOrder
    ) -> None:
        with caplog.at_level(logging.DEBUG, "query_api.postgres_search"):
            results = await library.find("fox", sort=sort, page=2, page_size=2)

        assert any(m.startswith("walking up to ") for m in caplog.messages)
        assert not any(m.endswith("sorting them all") for m in caplog.messages)
        assert len(results.hits) == 2


class TestPostgresSearchWalkingShortByDate(TestPostgresSearch):
    """The contract again, each search by date walking one document, beside the count.

    A walk that ends before the page does gives way to sorting every match.
    """

    date_walk = DateWalk(cost=0, margin=0, least=1)

    @pytest.fixture
    async def count_pool(
        self, shared_database_url: str
    ) -> AsyncIterator[AsyncConnectionPool[Any] | None]:
        count_pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            shared_database_url, min_size=0, max_size=1, open=False
        )
        await count_pool.open()
        yield count_pool
        await count_pool.close()

    async def test_a_walk_that_ends_before_the_page_gives_way_to_the_sort(
        self, library: Library, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.DEBUG, "query_api.postgres_search"):
            results = await library.find("fox", sort="-date")

        assert "walking up to 1 documents in date order" in caplog.messages
        assert any(m.endswith(" of 4 hits; sorting them all") for m in caplog.messages)
        assert len(results.hits) == 4


def test_a_search_by_date_walks_only_where_that_costs_less_than_sorting() -> None:
    walk = DateWalk(cost=10.0, margin=3.0, least=200)
    # A word in most of 100,000 documents: 20 hits are in the first 30 or so.
    assert walk.rows(PlannerGuess(68_000, 100_000), 20) == 200
    assert walk.rows(PlannerGuess(68_000, 100_000), 1_000) == 4_412
    # In one document of 200, sorting its 500 matches is cheaper.
    assert walk.rows(PlannerGuess(500, 100_000), 20) is None
    assert walk.rows(PlannerGuess(0, 0), 20) is None


def test_a_query_compiles_to_groups_and_exclusions_with_their_widening() -> None:
    expression = parse('invoce OR bill "due date" -draft')
    fragments: dict[Atom, Fragments] = {
        Term("invoce"): Fragments("'invoc'", ("'invoic'",)),
        Term("bill"): Fragments("'bill'"),
        Phrase("due date"): Fragments("'due' <-> 'date'"),
        Term("draft"): Fragments("'draft'"),
    }

    compiled = compile_query(expression, fragments)

    assert compiled == CompiledQuery(
        match="( ( 'invoc' ) | ( 'invoic' ) | ( 'bill' ) )"
        " & ( ( 'due' <-> 'date' ) ) & !( ( 'draft' ) )",
        positive="( ( 'invoc' ) | ( 'invoic' ) | ( 'bill' ) | ( 'due' <-> 'date' ) )",
    )


def test_stop_words_leave_their_group_out_or_match_nothing() -> None:
    expression = parse("the fox -a")
    fragments: dict[Atom, Fragments] = {
        Term("the"): Fragments(""),
        Term("fox"): Fragments("'fox'"),
        Term("a"): Fragments(""),
    }
    only_stop_words: dict[Atom, Fragments] = {Term("the"): Fragments("")}

    assert compile_query(expression, fragments) == CompiledQuery(
        "( ( 'fox' ) )", "( ( 'fox' ) )"
    )
    assert compile_query(parse("the"), only_stop_words) is None


def test_only_plain_positive_words_of_four_letters_are_widened() -> None:
    requests = dict(atom_requests(parse('Invoce fox e-mail "quoted" lighth* -draft')))

    assert requests[Term("Invoce")] == AtomRequest("term", "invoce", True, None)
    assert not requests[Term("fox")].fuzzy
    assert not requests[Term("e-mail")].fuzzy
    assert requests[Phrase("quoted")].kind == "phrase"
    assert requests[Term("lighth", prefix=True)] == AtomRequest(
        "prefix", "'lighth'", False, "lighth"
    )
    assert not requests[Term("draft")].fuzzy


def test_rank_tiers_go_from_the_title_to_pages_and_from_most_occurrences_down() -> None:
    tiers = rank_tiers(["( ( 'fox' ) | ( 'it''s' ) | ( 'lighth':* ) )", "( 'fox' )"])

    assert tiers[0] == "'fox a32' | 'it''s a32'"
    assert tiers[15] == "'fox a1' | 'it''s a1'"
    assert tiers[16] == "'fox b32' | 'it''s b32'"
    assert tiers[-1] == "'fox c2' | 'it''s c2'"
    assert len(tiers) == 16 + 16 + 15
    assert rank_tiers(["( 'lighth':* )"]) == []
