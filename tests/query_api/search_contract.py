"""What every adapter of the search port must do; subclass once per adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

import pytest

from query_api.search import SearchPort, SearchQuery, SearchResults
from schemas.events import EventEnvelope
from tests.projectors.events import EventLog, User


@dataclass
class Engine:
    """An adapter under test and how to get events into its index."""

    port: SearchPort
    index: Callable[[list[EventEnvelope]], Awaitable[None]]


@dataclass
class Library:
    """Two users' documents, indexed."""

    ada: User
    bob: User
    invoice: UUID
    letter: UUID
    taxes: UUID
    engine: Engine

    async def find(self, text: str, **filters: object) -> SearchResults:
        query = SearchQuery(text, **filters)  # type: ignore[arg-type]
        return await self.engine.port.search(self.ada.id, query)

    async def ids(self, text: str, **filters: object) -> list[UUID]:
        return [hit.document_id for hit in (await self.find(text, **filters)).hits]


class SearchContract:
    """Behaviour of full-text search, whatever engine answers it."""

    @pytest.fixture
    def engine(self) -> Engine:
        raise NotImplementedError("each adapter's test class provides its engine")

    @pytest.fixture
    async def library(self, engine: Engine) -> Library:
        log = EventLog()
        ada, bob = log.register("ada"), log.register("bob")
        taxes = log.folder(ada, "Taxes", ada.home_folder_id)
        invoice = log.upload(ada, "Invoice ACME", folder_id=taxes)
        log.add("Document.Tagged", invoice, {"tag": "tax"})
        log.ocr(
            invoice,
            "The quick brown fox jumps over the dog",
            "Payment is due in thirty days",
            "Tom & Jerry <script>alert(1)</script> say 1 < 2 to the fox",
        )
        letter = log.upload(ada, "Brief von der Bank", lang="deu")
        log.ocr(letter, "Die Häuser am Fluss sind teuer", lang="deu")
        trashed = log.upload(ada, "Old fox notes")
        log.add("Document.Trashed", trashed, {})
        log.ocr(log.upload(bob, "Bob's fox"), "fox fox fox")
        await engine.index(log.envelopes)
        return Library(ada, bob, invoice, letter, taxes, engine)

    async def test_a_word_on_a_page_finds_the_document_and_its_pages(
        self, library: Library
    ) -> None:
        results = await library.find("fox")

        assert results.total == 1
        hit = results.hits[0]
        assert (hit.document_id, hit.pages) == (library.invoice, (1, 3))
        assert (hit.title, hit.tags, hit.folder_id) == (
            "Invoice ACME",
            ("tax",),
            library.taxes,
        )

    async def test_words_are_matched_by_their_stem_in_the_document_language(
        self, library: Library
    ) -> None:
        assert await library.ids("jumping") == [library.invoice]
        assert await library.ids("Haus") == [library.letter]

    async def test_title_and_tags_are_searched(self, library: Library) -> None:
        assert await library.ids("acme") == [library.invoice]
        assert await library.ids("tax") == [library.invoice]
        assert await library.ids("bank") == [library.letter]

    async def test_phrases_or_and_exclusion_work_as_in_web_search(
        self, library: Library
    ) -> None:
        assert await library.ids('"brown fox"') == [library.invoice]
        assert await library.ids('"fox brown"') == []
        assert set(await library.ids("fox or häuser")) == {
            library.invoice,
            library.letter,
        }
        assert await library.ids("payment -thirty") == []

    async def test_the_snippet_marks_matches_and_escapes_the_rest(
        self, library: Library
    ) -> None:
        snippet = (await library.find("jerry")).hits[0].snippet

        assert "<mark>Jerry</mark>" in snippet
        assert "Tom &amp; " in snippet
        assert "<script>" not in snippet
        assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0

    async def test_filters_narrow_the_hits(self, library: Library) -> None:
        assert await library.ids("fox", tags=("tax",)) == [library.invoice]
        assert await library.ids("fox", tags=("tax", "other")) == []
        assert await library.ids("fox", folder_id=library.taxes) == [library.invoice]
        assert await library.ids("häuser", folder_id=library.taxes) == []

    async def test_another_users_and_trashed_documents_are_never_found(
        self, library: Library
    ) -> None:
        bobs = await library.engine.port.search(library.bob.id, SearchQuery("fox"))

        assert len(bobs.hits) == 1
        assert bobs.hits[0].title == "Bob's fox"
        assert await library.ids("notes") == []

    async def test_hits_are_paged_best_first_with_the_total(
        self, library: Library
    ) -> None:
        first = await library.find("fox or bank", page_size=1)
        second = await library.find("fox or bank", page_size=1, page=2)
        beyond = await library.find("fox or bank", page_size=1, page=3)

        assert (first.total, second.total, beyond.total) == (2, 2, 2)
        assert first.hits[0].score >= second.hits[0].score
        assert {first.hits[0].document_id, second.hits[0].document_id} == {
            library.invoice,
            library.letter,
        }
        assert beyond.hits == ()

    @pytest.mark.parametrize(
        "text",
        [
            "'; DROP TABLE read_model.documents; --",
            "(((",
            "!!! & | :*",
            "\\",
            "a" * 999,
        ],
    )
    async def test_hostile_queries_find_nothing_and_break_nothing(
        self, library: Library, text: str
    ) -> None:
        assert (await library.find(text)).hits == ()
        assert await library.ids("fox") == [library.invoice]
