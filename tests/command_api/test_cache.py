"""Trusted aggregate caches in several processes never lose or misorder a write."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID, uuid4

import pytest

from command_api import dispatch
from command_api.application import Paperledger, Written
from command_api.cache import AggregateCache
from command_api.domain import Document
from command_api.errors import ConflictError
from infra.postgres import eventsourcing_env
from infra.settings import Settings


@pytest.fixture
def two(settings: Settings) -> Iterator[tuple[Paperledger, Paperledger]]:
    """Two command API processes' applications on one event store, both caching."""
    assert settings.database_url
    env = eventsourcing_env(settings.database_url)
    first = Paperledger(env=env, group_commit=True, cache_size=100)
    second = Paperledger(env=env, group_commit=True, cache_size=100)
    yield first, second
    first.close()
    second.close()


def _document(ledger: Paperledger) -> tuple[UUID, UUID]:
    """Returns a new user's id and a document they uploaded, cached by ``ledger``."""
    owner = ledger.register_user(f"u{uuid4().hex[:12]}").id
    written = ledger.upload_document(
        owner,
        title="Scan",
        folder_id=ledger.user(owner).inbox_folder_id,
        lang="eng",
        original={
            "sha256": "a" * 64,
            "filename": "s.pdf",
            "content_type": "application/pdf",
            "size": 1,
        },
        pdf_sha256="a" * 64,
        page_count=1,
    )
    return owner, written.id


def _stored(ledger: Paperledger, document_id: UUID) -> Document:
    fresh = Paperledger(env=ledger.env)
    try:
        document: Document = fresh.repository.get(document_id)
    finally:
        fresh.close()
    return document


def _tag(ledger: Paperledger, owner: UUID, document_id: UUID, tag: str) -> Written:
    return ledger.change_document(owner, document_id, None, "tag", tag)


def test_a_write_on_a_stale_cache_is_retried_on_fresh_state(
    two: tuple[Paperledger, Paperledger],
) -> None:
    first, second = two
    owner, document_id = _document(first)
    _tag(first, owner, document_id, "a")

    _tag(second, owner, document_id, "b")
    written = _tag(first, owner, document_id, "c")

    stored = _stored(first, document_id)
    assert stored.tags == ["a", "b", "c"]
    assert written.version == stored.version == 4


def test_if_match_is_checked_against_fresh_state_not_a_stale_cache(
    two: tuple[Paperledger, Paperledger],
) -> None:
    first, second = two
    owner, document_id = _document(first)
    _tag(first, owner, document_id, "a")
    _tag(second, owner, document_id, "b")

    with pytest.raises(ConflictError):
        first.change_document(owner, document_id, 2, "tag", "stale")
    written = first.change_document(owner, document_id, 3, "tag", "current")

    assert written.version == 4
    assert _stored(first, document_id).tags == ["a", "b", "current"]


def test_a_change_that_looks_like_nothing_on_a_stale_cache_is_still_made(
    two: tuple[Paperledger, Paperledger],
) -> None:
    first, second = two
    owner, document_id = _document(first)
    _tag(first, owner, document_id, "x")
    second.change_document(owner, document_id, None, "untag", "x")

    written = _tag(first, owner, document_id, "x")

    assert written.version == 4
    assert _stored(first, document_id).tags == ["x"]


def test_changes_on_the_event_loop_meet_stale_caches_like_one_by_one(
    two: tuple[Paperledger, Paperledger],
) -> None:
    first, second = two
    owner, document_id = _document(first)
    _tag(second, owner, document_id, "warm")

    async def race() -> list[Any]:
        calls = [
            dispatch.change_document(
                (first, second)[n % 2], owner, document_id, None, "tag", f"t{n}"
            )
            for n in range(80)
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(race())

    answered = [o for o in outcomes if isinstance(o, Written)]
    assert all(isinstance(o, Written | ConflictError) for o in outcomes)
    stored = _stored(first, document_id)
    assert len(stored.tags) == 1 + len(answered)
    assert sorted(w.version for w in answered) == list(range(3, 3 + len(answered)))
    assert len({w.position for w in answered}) == len(answered)


def test_racing_threads_in_two_processes_keep_every_answered_write(
    two: tuple[Paperledger, Paperledger],
) -> None:
    first, second = two
    owner, document_id = _document(first)

    def tag(n: int) -> Any:
        try:
            return _tag((first, second)[n % 2], owner, document_id, f"t{n}")
        except ConflictError as e:
            return e

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(tag, range(64)))

    answered = [o for o in outcomes if isinstance(o, Written)]
    stored = _stored(first, document_id)
    assert answered
    assert len(stored.tags) == len(answered)
    assert len({w.version for w in answered}) == len(answered)


def test_the_cache_hands_out_copies_and_keeps_the_newest_version() -> None:
    cache = AggregateCache(max_size=2)
    document = _stored_document()
    cache.put(document)

    copy = cache.get(document.id)
    assert isinstance(copy, Document)
    copy.tag("mine", actor="test")
    copy.collect_events()
    cache.put(copy)
    cache.put(document)

    cached = cache.get(document.id)
    assert isinstance(cached, Document)
    assert (document.tags, cached.tags, cached.version) == ([], ["mine"], 2)


def test_the_cache_holds_at_most_its_size() -> None:
    cache = AggregateCache(max_size=3)
    for _ in range(10):
        cache.put(_stored_document())

    assert len(cache) == 3


def _stored_document() -> Document:
    """Returns a new document as it is once its first event is stored."""
    document = Document(
        uuid4(),
        title="Scan",
        folder_id=uuid4(),
        lang="eng",
        original={},
        pdf_sha256="a" * 64,
        page_count=1,
        actor="test",
        owner_id=uuid4(),
    )
    document.collect_events()
    return document
