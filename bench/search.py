"""Search latency on both adapters over a synthetic corpus: ``python -m bench.search``.

Starts its own embedded PostgreSQL, NATS and (unless left out) OpenSearch, writes
the corpus as events, lets the relay and the projectors (PostgreSQL read models
and the OpenSearch index) carry it to the read side as in production, then times
searches for rare and common words on each adapter asked for. A ``--dir`` that
already holds a finished corpus of the same size is searched again as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg_pool import AsyncConnectionPool

from bench.search_corpus import RARE_WORDS, VOCABULARY, CorpusPlan, write_corpus
from command_api.application import Paperledger
from command_api.envelopes import decode
from infra.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from infra.embedded_opensearch import EmbeddedOpenSearch
from infra.nats import connect
from infra.postgres import eventsourcing_env
from infra.relay import Relay
from infra.supervisor import prepare_services
from projectors.consumer import PostgresSink, Sink, StreamConsumer
from projectors.opensearch import OpenSearchSink
from query_api.opensearch_search import OpenSearchSearch
from query_api.postgres_search import PostgresSearch
from query_api.search import SearchOrder, SearchPort, SearchQuery

logger = logging.getLogger("bench.search")

TARGET_P99_MS = 50.0
HEADER = (
    f"{'adapter':<11}{'terms':<8}{'order':<10}{'queries':>8}{'hits/query':>11}"
    f"{'p50 ms':>9}{'p99 ms':>9}   target"
)
WARMUP_QUERIES = 20
ADAPTERS = ("postgres", "opensearch")
ORDERS: tuple[SearchOrder, ...] = ("relevance", "-date")
# Written into --dir once the corpus is complete, so a later run can reuse it.
MANIFEST = "search-corpus.json"


@dataclass(frozen=True)
class Services:
    """The embedded services of one run."""

    database_url: str
    nats_url: str
    opensearch_url: str | None


@dataclass(frozen=True)
class Timing:
    """The latencies of one adapter for one kind of word in one order."""

    adapter: str
    kind: str
    order: str
    latencies: list[float]
    hits: list[int]

    def row(self) -> str:
        """Returns this timing as a line of the table."""
        p50 = statistics.median(self.latencies)
        p99 = statistics.quantiles(self.latencies, n=100, method="inclusive")[98]
        verdict = "met" if p99 <= TARGET_P99_MS else "missed"
        mean_hits = sum(self.hits) / len(self.hits)
        return (
            f"{self.adapter:<11}{self.kind:<8}{self.order:<10}{len(self.latencies):>8}"
            f"{mean_hits:>11.1f}{p50:>9.1f}{p99:>9.1f}   <= {TARGET_P99_MS:g} {verdict}"
        )


@dataclass(frozen=True)
class Corpus:
    """A corpus written into the event store: whose it is and how far it goes."""

    owner: UUID
    last: int
    rare_terms: list[str]
    common_terms: list[str]
    seconds: float | None = None


@contextlib.contextmanager
def embedded_services(
    root: Path, heap: str, *, opensearch: bool = True
) -> Iterator[Services]:
    """Starts PostgreSQL, NATS and maybe OpenSearch under ``root``; stops them after."""
    postgres = EmbeddedPostgres(root / "postgres", free_port())
    nats = EmbeddedNats(root / "nats", free_port())
    node = EmbeddedOpenSearch(root / "opensearch", free_port(), heap=heap)
    with contextlib.ExitStack() as stack:
        for service in (postgres, nats, node) if opensearch else (postgres, nats):
            service.start()
            stack.callback(service.stop)
        prepare_services(postgres.url, nats.url)
        yield Services(postgres.url, nats.url, node.url if opensearch else None)


def stored_corpus(root: Path, plan: CorpusPlan) -> Corpus | None:
    """Returns the finished corpus of this plan in ``root``, None for an empty root."""
    manifest = root / MANIFEST
    if not manifest.exists():
        if (root / "postgres").exists():
            raise SystemExit(f"{root} holds data but no finished corpus; empty it")
        return None
    stored = json.loads(manifest.read_text())
    if stored["plan"] != _plan_key(plan):
        raise SystemExit(
            f"{root} holds a corpus of {stored['plan']}, not {_plan_key(plan)}"
        )
    return Corpus(
        UUID(stored["owner"]), stored["last"], stored["rare"], stored["common"]
    )


def keep_corpus(root: Path, plan: CorpusPlan, corpus: Corpus) -> None:
    """Records a finished corpus in ``root`` so that a later run can reuse it."""
    stored = {
        "plan": _plan_key(plan),
        "owner": str(corpus.owner),
        "last": corpus.last,
        "rare": corpus.rare_terms,
        "common": corpus.common_terms,
    }
    (root / MANIFEST).write_text(json.dumps(stored))


def _plan_key(plan: CorpusPlan) -> dict[str, int]:
    return {
        "documents": plan.documents,
        "pages": plan.pages,
        "words": plan.words_per_page,
        "seed": plan.seed,
        "rare_words": RARE_WORDS,
    }


def write(services: Services, plan: CorpusPlan) -> tuple[Any, int]:
    """Registers the user and writes the corpus; returns the user id and position."""
    ledger = Paperledger(env=eventsourcing_env(services.database_url))
    try:
        user = ledger.user(ledger.register_user("bench").id)
        position = 0
        for position in write_corpus(ledger, user.id, user.home_folder_id, plan):
            logger.info("written up to position %s", position)
        return user.id, position
    finally:
        ledger.close()


async def project(
    services: Services, adapters: list[str], last: int
) -> dict[str, float]:
    """Runs the relay and the adapters' projectors until each reached ``last``."""
    sinks: list[Sink] = []
    if "postgres" in adapters:
        sinks.append(PostgresSink(services.database_url))
    if services.opensearch_url:
        sinks.append(OpenSearchSink(services.opensearch_url, services.database_url))
    started = time.monotonic()
    stop = asyncio.Event()
    async with _relay(services, stop) as relaying:
        consumers = [
            asyncio.create_task(StreamConsumer(sink, services.nats_url).run(stop))
            for sink in sinks
        ]
        names = {sink.name for sink in sinks}
        seconds = await _until_reached(services.database_url, last, names, started)
        stop.set()
        await asyncio.gather(*consumers, relaying)
    return seconds


@contextlib.asynccontextmanager
async def _relay(services: Services, stop: asyncio.Event) -> AsyncIterator[Any]:
    ledger = Paperledger(env=eventsourcing_env(services.database_url))
    client = await connect(services.nats_url, "bench-relay")
    recorder = ledger.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    relay = Relay(
        recorder, partial(decode, ledger), client.jetstream(), services.database_url
    )
    try:
        yield asyncio.create_task(relay.run(stop))
    finally:
        await client.close()
        ledger.close()


async def _until_reached(
    database_url: str, last: int, names: set[str], started: float
) -> dict[str, float]:
    seconds: dict[str, float] = {}
    while len(seconds) < len(names):
        await asyncio.sleep(1.0)
        with psycopg.connect(database_url) as conn:
            rows = conn.execute("SELECT projector, position FROM read_model.positions")
            for name, position in rows:
                if name in names and position >= last and name not in seconds:
                    seconds[name] = time.monotonic() - started
                    logger.info("%s projector done in %.1f s", name, seconds[name])
    return seconds


async def measure(
    name: str,
    port: SearchPort,
    owner: Any,
    terms: dict[str, list[str]],
    queries: int,
    warmup: int = WARMUP_QUERIES,
) -> list[Timing]:
    """Times ``queries`` searches per kind of word and order, after ``warmup``."""
    rng = random.Random(5)  # noqa: S311 (picks words, not secrets)
    timings = []
    for order, (kind, words) in itertools.product(ORDERS, terms.items()):
        for text in rng.choices(words, k=warmup):
            await port.search(owner, SearchQuery(text, sort=order))
        latencies, hits = [], []
        for text in rng.choices(words, k=queries):
            started = time.perf_counter()
            results = await port.search(owner, SearchQuery(text, sort=order))
            latencies.append((time.perf_counter() - started) * 1000)
            hits.append(results.total)
        timings.append(Timing(name, kind, order, latencies, hits))
    return timings


async def run(
    args: argparse.Namespace,
    services: Services,
    root: Path,
    plan: CorpusPlan,
    corpus: Corpus | None,
) -> None:
    """Builds the corpus unless it is given, projects it, prints the table."""
    if corpus is None:
        corpus = await asyncio.to_thread(build_corpus, services, plan)
        keep_corpus(root, plan, corpus)
    else:
        logger.info("reusing the corpus in %s", root)
    projected = await project(services, args.adapters, corpus.last)
    if "postgres" in args.adapters:
        await asyncio.to_thread(analyse, services.database_url)
    terms = {"rare": corpus.rare_terms, "common": corpus.common_terms}
    timings = await _measure(services, args, corpus.owner, terms)
    _print(plan, corpus.seconds, projected, timings)


def analyse(database_url: str) -> None:
    """Gives the planner statistics of the projected corpus, as autovacuum would.

    Autovacuum analyses a table within a minute or so of a bulk load; until then
    the planner guesses, and searches take several times as long. The table is
    of the read side at rest.
    """
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ANALYZE read_model.documents, read_model.pages")


def build_corpus(services: Services, plan: CorpusPlan) -> Corpus:
    """Writes the plan's corpus into the event store; returns what a search needs."""
    started = time.monotonic()
    owner, last = write(services, plan)
    seconds = time.monotonic() - started
    return Corpus(owner, last, plan.rare_terms(), plan.common_terms(), seconds)


async def _measure(
    services: Services,
    args: argparse.Namespace,
    owner: Any,
    terms: dict[str, list[str]],
) -> list[Timing]:
    timings: list[Timing] = []
    async with contextlib.AsyncExitStack() as stack:
        for name in args.adapters:
            port = await stack.enter_async_context(_port(services, name))
            timings += await measure(
                name, port, owner, terms, args.queries, args.warmup
            )
    return timings


@contextlib.asynccontextmanager
async def _port(services: Services, name: str) -> AsyncIterator[SearchPort]:
    if name == "opensearch":
        assert services.opensearch_url is not None
        opensearch = OpenSearchSearch(services.opensearch_url, timeout=30.0)
        try:
            yield opensearch
        finally:
            await opensearch.close()
        return
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        services.database_url, min_size=1, max_size=2, open=False
    )
    # As in the query API: a common word's count runs beside its page, on a
    # connection of its own.
    count_pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        services.database_url, min_size=1, max_size=1, open=False
    )
    await pool.open(wait=True)
    await count_pool.open(wait=True)
    try:
        yield PostgresSearch(pool, count_pool=count_pool)
    finally:
        await count_pool.close()
        await pool.close()


def _print(
    plan: CorpusPlan,
    written: float | None,
    projected: dict[str, float],
    timings: list[Timing],
) -> None:
    out: Callable[[str], None] = print
    pages = plan.documents * plan.pages
    out(f"corpus: {plan.documents:,} documents, {pages:,} pages")
    out(f"  {plan.words_per_page} words a page from {VOCABULARY:,} Zipf-ranked words")
    if written is None:
        out("  events reused from an earlier run")
    else:
        out(f"  events written in {written:.1f} s")
    for name, seconds in sorted(projected.items()):
        out(f"  {name} read side reached the last event {seconds:.1f} s after that")
    if written is not None:
        out(f"  built in {written + max(projected.values()):.1f} s in all")
    out("")
    out(HEADER)
    for timing in timings:
        out(timing.row())


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=10, help="pages per document")
    parser.add_argument("--words", type=int, default=150, help="words per page")
    parser.add_argument("--queries", type=int, default=300, help="per adapter and kind")
    parser.add_argument(
        "--warmup",
        type=int,
        default=WARMUP_QUERIES,
        help="untimed searches per adapter and kind first; a fresh OpenSearch JVM "
        "compiles its hot paths over the first thousand or so",
    )
    parser.add_argument("--heap", default="1g", help="OpenSearch heap, e.g. 2g")
    parser.add_argument(
        "--dir",
        type=Path,
        help="where the services keep data; a corpus already there is reused",
    )
    parser.add_argument(
        "--adapters",
        type=_adapters,
        default=list(ADAPTERS),
        help="comma-separated, of postgres,opensearch (default both); "
        "OpenSearch is not started unless named",
    )
    return parser.parse_args(argv)


def _adapters(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(ADAPTERS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown adapter {', '.join(unknown) or '(none)'}; "
            f"choose from {','.join(ADAPTERS)}"
        )
    return list(dict.fromkeys(names))


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and prints its table."""
    args = parse(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for chatty in ("opensearch", "nats", "eventsourcing", "projectors", "infra"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    with contextlib.ExitStack() as stack:
        root = args.dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        root.mkdir(parents=True, exist_ok=True)
        plan = CorpusPlan(args.documents, args.pages, args.words)
        corpus = stored_corpus(root, plan)
        opensearch = "opensearch" in args.adapters
        services = stack.enter_context(
            embedded_services(root, args.heap, opensearch=opensearch)
        )
        asyncio.run(run(args, services, root, plan, corpus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
