"""Search latency on both adapters over a synthetic corpus: ``python -m bench.search``.

Starts its own embedded PostgreSQL, NATS and OpenSearch, writes the corpus as
events, lets the relay and both projectors (PostgreSQL read models and the
OpenSearch index) carry it to the read side as in production, then times
searches for rare and common words on each adapter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg_pool import AsyncConnectionPool

from bench.search_corpus import VOCABULARY, CorpusPlan, write_corpus
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
from query_api.search import SearchPort, SearchQuery

logger = logging.getLogger("bench.search")

TARGET_P99_MS = 50.0
HEADER = (
    f"{'adapter':<11}{'terms':<8}{'queries':>8}{'hits/query':>11}"
    f"{'p50 ms':>9}{'p99 ms':>9}   target"
)
WARMUP_QUERIES = 20


@dataclass(frozen=True)
class Services:
    """The embedded services of one run."""

    database_url: str
    nats_url: str
    opensearch_url: str


@dataclass(frozen=True)
class Timing:
    """The latencies of one adapter for one kind of word."""

    adapter: str
    kind: str
    latencies: list[float]
    hits: list[int]

    def row(self) -> str:
        """Returns this timing as a line of the table."""
        p50 = statistics.median(self.latencies)
        p99 = statistics.quantiles(self.latencies, n=100, method="inclusive")[98]
        verdict = "met" if p99 <= TARGET_P99_MS else "missed"
        mean_hits = sum(self.hits) / len(self.hits)
        return (
            f"{self.adapter:<11}{self.kind:<8}{len(self.latencies):>8}"
            f"{mean_hits:>11.1f}{p50:>9.1f}{p99:>9.1f}   <= {TARGET_P99_MS:g} {verdict}"
        )


@contextlib.contextmanager
def embedded_services(root: Path, heap: str) -> Iterator[Services]:
    """Starts PostgreSQL, NATS and OpenSearch under ``root``; stops them after."""
    postgres = EmbeddedPostgres(root / "postgres", free_port())
    nats = EmbeddedNats(root / "nats", free_port())
    opensearch = EmbeddedOpenSearch(root / "opensearch", free_port(), heap=heap)
    with contextlib.ExitStack() as stack:
        for service in (postgres, nats, opensearch):
            service.start()
            stack.callback(service.stop)
        prepare_services(postgres.url, nats.url)
        yield Services(postgres.url, nats.url, opensearch.url)


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


async def project(services: Services, last: int) -> dict[str, float]:
    """Runs the relay and both projectors until each reached ``last``; their times."""
    sinks: list[Sink] = [
        PostgresSink(services.database_url),
        OpenSearchSink(services.opensearch_url, services.database_url),
    ]
    started = time.monotonic()
    stop = asyncio.Event()
    async with _relay(services, stop) as relaying:
        consumers = [
            asyncio.create_task(StreamConsumer(sink, services.nats_url).run(stop))
            for sink in sinks
        ]
        seconds = await _until_reached(services.database_url, last, started)
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
    database_url: str, last: int, started: float
) -> dict[str, float]:
    seconds: dict[str, float] = {}
    while len(seconds) < 2:
        await asyncio.sleep(1.0)
        with psycopg.connect(database_url) as conn:
            rows = conn.execute("SELECT projector, position FROM read_model.positions")
            for name, position in rows:
                if position >= last and name not in seconds:
                    seconds[name] = time.monotonic() - started
                    logger.info("%s projector done in %.1f s", name, seconds[name])
    return seconds


async def measure(
    name: str, port: SearchPort, owner: Any, terms: dict[str, list[str]], queries: int
) -> list[Timing]:
    """Times ``queries`` searches of each kind of word, after a warm-up."""
    rng = random.Random(5)  # noqa: S311 (picks words, not secrets)
    timings = []
    for kind, words in terms.items():
        for text in rng.choices(words, k=WARMUP_QUERIES):
            await port.search(owner, SearchQuery(text))
        latencies, hits = [], []
        for text in rng.choices(words, k=queries):
            started = time.perf_counter()
            results = await port.search(owner, SearchQuery(text))
            latencies.append((time.perf_counter() - started) * 1000)
            hits.append(results.total)
        timings.append(Timing(name, kind, latencies, hits))
    return timings


async def run(args: argparse.Namespace, services: Services) -> None:
    """Builds the corpus on fresh services and prints the table."""
    plan = CorpusPlan(args.documents, args.pages, args.words)
    started = time.monotonic()
    owner, last = await asyncio.to_thread(write, services, plan)
    written = time.monotonic() - started
    projected = await project(services, last)
    terms = {"rare": plan.rare_terms(), "common": plan.common_terms()}
    timings = await _measure_both(services, owner, terms, args.queries)
    _print(plan, written, projected, timings)


async def _measure_both(
    services: Services, owner: Any, terms: dict[str, list[str]], queries: int
) -> list[Timing]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        services.database_url, min_size=1, max_size=2, open=False
    )
    await pool.open(wait=True)
    opensearch = OpenSearchSearch(services.opensearch_url, timeout=30.0)
    try:
        ports: list[tuple[str, SearchPort]] = [
            ("postgres", PostgresSearch(pool)),
            ("opensearch", opensearch),
        ]
        return [
            timing
            for name, port in ports
            for timing in await measure(name, port, owner, terms, queries)
        ]
    finally:
        await opensearch.close()
        await pool.close()


def _print(
    plan: CorpusPlan, written: float, projected: dict[str, float], timings: list[Timing]
) -> None:
    out: Callable[[str], None] = print
    pages = plan.documents * plan.pages
    total = written + max(projected.values())
    out(f"corpus: {plan.documents:,} documents, {pages:,} pages")
    out(f"  {plan.words_per_page} words a page from {VOCABULARY:,} Zipf-ranked words")
    out(f"  events written in {written:.1f} s")
    for name, seconds in sorted(projected.items()):
        out(f"  {name} read side built in {seconds:.1f} s after that")
    out(f"  built in {total:.1f} s in all")
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
    parser.add_argument("--heap", default="1g", help="OpenSearch heap, e.g. 2g")
    parser.add_argument("--dir", type=Path, help="where the services keep data")
    return parser.parse_args(argv)


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
        services = stack.enter_context(embedded_services(root, args.heap))
        asyncio.run(run(args, services))
    return 0


if __name__ == "__main__":
    sys.exit(main())
