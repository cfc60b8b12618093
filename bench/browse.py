"""Figure 5: folder listings and tag filters over a generated library."""

from __future__ import annotations

import logging
import math
import random
from urllib.parse import urlencode
from uuid import UUID

from bench.browse_corpus import (
    COMMON_TAG,
    DOCUMENTS_PER_FOLDER,
    INBOX_SHARE,
    KIND_WORD,
    RARE_TAG,
    Library,
)
from bench.config import BenchConfig
from bench.load import LoadSpec, measure
from bench.stats import Summary
from bench.systems import BenchUser
from bench.table import Figure, Target
from tests.e2e.system import System

logger = logging.getLogger(__name__)

P99_MS = Target(20, "at most")
SEARCH_P99_MS = Target(50, "at most")
PAGE_SIZE = 50
SORTS = ("title", "-title", "created_at", "-created_at", "updated_at", "-updated_at")
DISTINCT_PATHS = 500
BROWSE_SECONDS_LIMIT = 120.0
WARM_UP_REQUESTS = 50


def listing_paths(
    folders: list[UUID], documents: int, chance: random.Random
) -> list[str]:
    """Returns listings of random pages of ``folders`` in every order."""
    return [
        f"/api/folders/{chance.choice(folders)}/children?{query}"
        for query in _random_pages(documents, {}, chance)
    ]


def tag_filter_paths(tag: str, documents: int, chance: random.Random) -> list[str]:
    """Returns listings of random pages of the documents with ``tag``."""
    return [
        f"/api/documents?{q}" for q in _random_pages(documents, {"tag": tag}, chance)
    ]


def _random_pages(
    documents: int, query: dict[str, str], chance: random.Random
) -> list[str]:
    pages = max(1, math.ceil(documents / PAGE_SIZE))
    return [
        urlencode(
            {
                **query,
                "page": chance.randint(1, pages),
                "page_size": PAGE_SIZE,
                "sort": chance.choice(SORTS),
            }
        )
        for _ in range(DISTINCT_PATHS)
    ]


def tag_search_paths(tag: str) -> list[str]:
    """Returns searches for the kind word among documents with ``tag``."""
    return [
        f"/api/search?{urlencode({'q': KIND_WORD, 'tag': tag, 'page': page})}"
        for page in (1, 2, 3)
    ]


def browse_figures(
    system: System, user: BenchUser, library: Library, config: BenchConfig
) -> list[Figure]:
    """Times listings and filters with ``config.browse_clients`` clients."""
    chance = random.Random(11)  # noqa: S311 (picks pages, not secrets)
    documents = len(library.document_ids)
    inbox = documents // INBOX_SHARE
    cases = {
        f"folder of {DOCUMENTS_PER_FOLDER}": listing_paths(
            list(library.folder_ids), DOCUMENTS_PER_FOLDER, chance
        ),
        f"inbox of {inbox:,}+": listing_paths([user.inbox_folder_id], inbox, chance),
        f"tag filter '{COMMON_TAG}'": tag_filter_paths(
            COMMON_TAG, library.tagged[COMMON_TAG], chance
        ),
        f"tag filter '{RARE_TAG}'": tag_filter_paths(
            RARE_TAG, library.tagged[RARE_TAG], chance
        ),
        f"search '{KIND_WORD}' with tag '{COMMON_TAG}'": tag_search_paths(COMMON_TAG),
        f"search '{KIND_WORD}' with tag '{RARE_TAG}'": tag_search_paths(RARE_TAG),
    }
    figures = []
    for case, paths in cases.items():
        logger.info("figure 5: %s", case)
        spec = LoadSpec(
            system.url,
            user.token,
            "gets",
            clients=config.browse_clients,
            seconds=BROWSE_SECONDS_LIMIT,
            warmup=0.0,
            max_requests=WARM_UP_REQUESTS,
            paths=paths,
        )
        measure(spec)  # warms the caches; not counted
        spec.max_requests = config.browse_requests
        result = measure(spec)
        latency = Summary.of(result.latencies_ms)
        name = f"5 {documents:,} documents, {case}"
        target = SEARCH_P99_MS if case.startswith("search") else P99_MS
        figures += [
            Figure(f"{name}: p50", latency.p50, "ms"),
            Figure(f"{name}: p99", latency.p99, "ms", target),
        ]
        if result.errors:
            figures.append(
                Figure(f"{name}: failed", float(sum(result.errors.values())), "")
            )
    return figures
