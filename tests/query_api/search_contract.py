"""What every adapter of the search port must do; subclass once per adapter.

The semantics every engine gives (see ``query_api.search_syntax`` for the syntax):

- A document matches when each required group has an atom that occurs anywhere in
  the document (title, tags or any page), and no excluded atom occurs anywhere in
  it. The words of a query may sit on different pages, or in the title and a page.
- A phrase matches words next to each other in one field: the title, a tag or
  one page. Words are matched by their stem in the document's language.
- A prefix ``word*`` matches the words that begin with it as written, whatever
  their stems are (an engine may also match words whose stem begins with it).
- Typo tolerance needs no syntax: a plain word of four letters or more that
  occurs in none of the searching user's documents also matches the closest
  words (by spelling) that do. A word that occurs somewhere is matched exactly,
  so its hits are not drowned by near spellings. Excluded words, prefixes and
  quoted words are never widened.
- A hit lists the pages that contain any of the required atoms (empty when only
  title or tags match) and a snippet of the best of them, or of the title, with
  matches in ``<mark>`` and everything else HTML-escaped; ``snippet_page`` says
  which page the snippet comes from.
- Filters: all given tags; the folder and every folder below it; upload time from
  ``created_from`` (inclusive) to ``created_to`` (exclusive); OCR status.
- Order: relevance (a title match and more occurrences rank higher), or upload
  time ascending (``date``) or descending (``-date``), ties by document id.
  ``total`` counts every match, whichever page is asked for, up to the adapter's
  count limit; past it, ``total`` is the limit and ``total_exact`` is False.
- A word the document's language drops (a stop word such as "the") is left out
  of the query, and so is an OR group made only of such words; a query left with
  nothing finds nothing.
- Only the searching user's documents that are not in the trash are ever found.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import pytest

from query_api.search import SearchOrder, SearchPort, SearchQuery, SearchResults
from query_api.search_syntax import SearchSyntaxError
from schemas.events import EventEnvelope
from tests.projectors.events import EventLog, User

# The count limit of ``Engine.counting``: one less than the matches of "fox".
SMALL_COUNT_LIMIT = 3


@dataclass
class Engine:
    """An adapter under test and how to get events into its index.

    ``counting`` searches the same index and stops counting at
    ``SMALL_COUNT_LIMIT``.
    """

    port: SearchPort
    index: Callable[[list[EventEnvelope]], Awaitable[None]]
    counting: SearchPort


@dataclass
class Library:
    """Two users' documents in nested folders, indexed; ``created`` by document."""

    ada: User
    bob: User
    taxes: UUID
    year: UUID
    receipts: UUID
    invoice: UUID
    letter: UUID
    travel: UUID
    stable: UUID
    sketch: UUID
    scan: UUID
    handbook: UUID
    created: dict[UUID, datetime]
    engine: Engine

    async def find(self, text: str, **filters: object) -> SearchResults:
        query = SearchQuery(text, **filters)  # type: ignore[arg-type]
        return await self.engine.port.search(self.ada.id, query)

    async def ids(self, text: str, **filters: object) -> list[UUID]:
        return [hit.document_id for hit in (await self.find(text, **filters)).hits]

    async def id_set(self, text: str, **filters: object) -> set[UUID]:
        return set(await self.ids(text, **filters))


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
        year = log.folder(ada, "2023", taxes)
        receipts = log.folder(ada, "Receipts", year)
        created: dict[UUID, datetime] = {}

        def upload(title: str, folder_id: UUID | None = None, **extra: str) -> UUID:
            document_id = log.upload(ada, title, folder_id=folder_id, **extra)
            created[document_id] = log.envelopes[-1].timestamp
            return document_id

        invoice = upload("Invoice ACME", folder_id=taxes)
        log.add("Document.Tagged", invoice, {"tag": "tax"})
        log.ocr(
            invoice,
            "The quick brown fox jumps over the lazy dog",
            "Payment is due in thirty days",
            "Tom & Jerry <script>alert(1)</script> say 1 < 2 to the fox",
        )
        letter = upload("Brief von der Bank", lang="deu")
        log.ocr(letter, "Die Häuser am Fluss sind teuer", lang="deu")
        travel = upload("Travel notes", folder_id=receipts)
        log.add("Document.Tagged", travel, {"tag": "travel"})
        log.add("Document.Tagged", travel, {"tag": "tax"})
        log.ocr(
            travel,
            "We were running up to the old lighthouse on the cliff",
            "The keeper's house has a brown dog",
            "A fox watched the lighthouse all night",
        )
        stable = upload("Stable diary")
        log.ocr(stable, "The horse eats hay in the morning")
        sketch = upload("Fox sketch")
        scan = upload("Scanned fox")
        log.add(
            "Document.OcrFailed",
            scan,
            {"pdf_sha256": log.pdf_of(scan), "reason": "unreadable"},
        )
        handbook = upload("Keeper handbook")
        log.ocr(
            handbook,
            "A keeper trains the next keeper; every keeper keeps a log",
            "Rules of the keeper guild",
        )
        trashed = upload("Old fox notes")
        log.add("Document.Trashed", trashed, {})
        log.ocr(log.upload(bob, "Bob's fox"), "fox fox fox invoce")
        await engine.index(log.envelopes)
        return Library(
            ada, bob, taxes, year, receipts, invoice, letter, travel, stable,
            sketch, scan, handbook, created, engine,
        )  # fmt: skip

    async def test_a_word_finds_the_documents_and_pages_that_contain_it(
        self, library: Library
    ) -> None:
        results = await library.find("lighthouse")

        assert results.total == 1
        hit = results.hits[0]
        assert (hit.document_id, hit.pages) == (library.travel, (1, 3))
        assert (hit.title, set(hit.tags), hit.folder_id) == (
            "Travel notes",
            {"travel", "tax"},
            library.receipts,
        )
        assert hit.created_at == library.created[library.travel]

    async def test_words_are_matched_by_their_stem_in_the_document_language(
        self, library: Library
    ) -> None:
        assert await library.ids("jumping") == [library.invoice]
        assert await library.ids("Haus") == [library.letter]

    async def test_a_query_of_stop_words_alone_finds_nothing(
        self, library: Library
    ) -> None:
        results = await library.find("the")

        assert (results.hits, results.total) == ((), 0)
        assert await library.ids("to be or not") == []
        assert await library.ids("the OR a") == []

    async def test_a_stop_word_beside_other_words_is_left_out(
        self, library: Library
    ) -> None:
        assert await library.ids("the lighthouse") == [library.travel]
        assert await library.ids("the OR lighthouse") == [library.travel]
        assert await library.ids("lighthouse -the") == [library.travel]

    async def test_title_and_tags_are_searched(self, library: Library) -> None:
        assert await library.ids("acme") == [library.invoice]
        assert await library.id_set("tax") == {library.invoice, library.travel}
        assert await library.ids("bank") == [library.letter]

    async def test_words_may_sit_on_different_pages_or_in_title_and_page(
        self, library: Library
    ) -> None:
        across_pages = await library.find("payment jerry")
        title_and_page = await library.find("acme payment")

        assert [(h.document_id, h.pages) for h in across_pages.hits] == [
            (library.invoice, (2, 3))
        ]
        assert [(h.document_id, h.pages) for h in title_and_page.hits] == [
            (library.invoice, (2,))
        ]
        assert await library.ids("payment lighthouse") == []

    async def test_a_phrase_needs_its_words_next_to_each_other_in_order(
        self, library: Library
    ) -> None:
        assert await library.ids('"brown fox"') == [library.invoice]
        assert await library.ids('"fox brown"') == []
        assert await library.ids('"brown dog"') == [library.travel]
        assert await library.ids('"old lighthouse" "brown dog"') == [library.travel]
        assert (await library.find('"lazy dog"')).hits[0].pages == (1,)

    async def test_a_prefix_matches_words_as_written(self, library: Library) -> None:
        assert await library.ids("invo*") == [library.invoice]
        assert await library.ids("lightho*") == [library.travel]
        assert await library.ids("runn*") == [library.travel]

    async def test_a_misspelt_word_finds_the_word_it_was_meant_to_be(
        self, library: Library
    ) -> None:
        lighthouse = await library.find("lighthuose")

        assert await library.ids("invoce") == [library.invoice]
        assert [(h.document_id, h.pages) for h in lighthouse.hits] == [
            (library.travel, (1, 3))
        ]
        assert "<mark>lighthouse</mark>" in lighthouse.hits[0].snippet

    async def test_a_correctly_spelt_word_is_not_widened_to_near_spellings(
        self, library: Library
    ) -> None:
        assert await library.ids("horse") == [library.stable]
        assert await library.ids("house") == [library.travel]
        assert await library.ids('"invoce"') == []
        assert library.invoice in await library.ids("fox -invoce")

    async def test_or_finds_either_and_binds_tighter_than_and(
        self, library: Library
    ) -> None:
        assert await library.id_set("acme OR häuser") == {
            library.invoice,
            library.letter,
        }
        assert await library.ids("acme OR häuser payment") == [library.invoice]
        assert await library.ids("acme or häuser") == []

    async def test_an_excluded_word_anywhere_excludes_the_whole_document(
        self, library: Library
    ) -> None:
        assert await library.ids("payment -thirty") == []
        assert await library.id_set("fox -jerry", ocr_status="completed") == {
            library.travel
        }
        assert await library.id_set("dog -acme") == {library.travel}
        assert await library.id_set("dog -tax") == set()
        assert await library.id_set("dog -cliff") == {library.invoice}

    async def test_an_excluded_phrase_or_prefix_excludes_only_what_it_matches(
        self, library: Library
    ) -> None:
        assert await library.ids('dog -"lazy dog"') == [library.travel]
        assert await library.id_set('dog -"dog lazy"') == {
            library.invoice,
            library.travel,
        }
        assert await library.ids("dog -lighth*") == [library.invoice]

    async def test_the_snippet_marks_matches_escapes_the_rest_and_names_its_page(
        self, library: Library
    ) -> None:
        hit = (await library.find("jerry")).hits[0]

        assert "<mark>Jerry</mark>" in hit.snippet
        assert "Tom &amp; " in hit.snippet
        assert "<script>" not in hit.snippet
        assert hit.snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0
        assert (hit.pages, hit.snippet_page) == ((3,), 3)

    async def test_hits_in_different_languages_each_get_their_pages_and_snippet(
        self, library: Library
    ) -> None:
        hits = {
            hit.document_id: hit
            for hit in (await library.find("Haus OR lighthouse")).hits
        }

        assert set(hits) == {library.letter, library.travel}
        letter, travel = hits[library.letter], hits[library.travel]
        assert (letter.pages, letter.snippet_page) == ((1,), 1)
        assert "<mark>Häuser</mark>" in letter.snippet
        assert travel.pages == (1, 3)
        assert travel.snippet_page in travel.pages
        assert "<mark>lighthouse</mark>" in travel.snippet

    async def test_a_title_match_without_pages_has_a_title_snippet(
        self, library: Library
    ) -> None:
        hit = (await library.find("sketch")).hits[0]

        assert (hit.document_id, hit.pages, hit.snippet_page) == (
            library.sketch,
            (),
            None,
        )
        assert hit.snippet == "Fox <mark>sketch</mark>"

    async def test_tags_filter_keeps_documents_with_all_of_them(
        self, library: Library
    ) -> None:
        assert await library.id_set("dog", tags=("tax",)) == {
            library.invoice,
            library.travel,
        }
        assert await library.ids("dog", tags=("tax", "travel")) == [library.travel]
        assert await library.ids("dog", tags=("tax", "other")) == []

    async def test_folder_filter_takes_the_folder_and_everything_below(
        self, library: Library
    ) -> None:
        assert await library.id_set("fox", folder_id=library.taxes) == {
            library.invoice,
            library.travel,
        }
        assert await library.ids("fox", folder_id=library.year) == [library.travel]
        assert await library.ids("fox", folder_id=library.receipts) == [library.travel]
        assert await library.ids("häuser", folder_id=library.taxes) == []
        assert await library.ids("fox", folder_id=library.bob.home_folder_id) == []

    async def test_date_filter_is_inclusive_from_and_exclusive_to(
        self, library: Library
    ) -> None:
        travel_at = library.created[library.travel]
        sketch_at = library.created[library.sketch]

        assert await library.ids(
            "fox", created_from=travel_at, created_to=sketch_at
        ) == [library.travel]
        assert await library.ids("fox", created_to=travel_at) == [library.invoice]
        assert await library.id_set("fox", created_from=sketch_at) == {
            library.sketch,
            library.scan,
        }

    async def test_ocr_status_filter(self, library: Library) -> None:
        assert await library.ids("fox", ocr_status="pending") == [library.sketch]
        assert await library.ids("fox", ocr_status="failed") == [library.scan]
        assert await library.id_set("fox", ocr_status="completed") == {
            library.invoice,
            library.travel,
        }

    async def test_relevance_puts_title_matches_and_frequent_words_first(
        self, library: Library
    ) -> None:
        results = await library.find("keeper")

        assert [hit.document_id for hit in results.hits] == [
            library.handbook,
            library.travel,
        ]
        assert results.hits[0].score > results.hits[1].score

    async def test_date_order_is_by_upload_time_either_way(
        self, library: Library
    ) -> None:
        oldest_first = [library.invoice, library.travel, library.sketch, library.scan]

        assert await library.ids("fox", sort="date") == oldest_first
        assert await library.ids("fox", sort="-date") == oldest_first[::-1]

    @pytest.mark.parametrize("sort", ["date", "-date"])
    async def test_filters_narrow_a_search_by_date_as_they_narrow_one_by_relevance(
        self, library: Library, sort: SearchOrder
    ) -> None:
        narrowings: list[dict[str, object]] = [
            {"tags": ("tax",)},
            {"folder_id": library.year},
            {"created_from": library.created[library.travel]},
            {"created_to": library.created[library.sketch]},
            {"ocr_status": "completed"},
        ]

        for filters in narrowings:
            by_date = await library.ids("fox", sort=sort, **filters)

            assert set(by_date) == await library.id_set("fox", **filters), filters
            assert by_date == sorted(
                by_date, key=library.created.__getitem__, reverse=sort == "-date"
            )

    async def test_hits_are_paged_with_the_total_on_every_page(
        self, library: Library
    ) -> None:
        everything = await library.ids("fox", sort="date")
        pages = [
            await library.find("fox", sort="date", page=n, page_size=3)
            for n in (1, 2, 3)
        ]

        assert [(p.total, p.total_exact) for p in pages] == [(4, True)] * 3
        assert [len(p.hits) for p in pages] == [3, 1, 0]
        assert [h.document_id for p in pages for h in p.hits] == everything
        relevance = [
            await library.find("fox", page=n, page_size=1) for n in (1, 2, 3, 4)
        ]
        assert len({r.hits[0].document_id for r in relevance}) == 4
        assert [r.hits[0].score for r in relevance] == sorted(
            (r.hits[0].score for r in relevance), reverse=True
        )

    @pytest.mark.parametrize("sort", ["relevance", "date", "-date"])
    async def test_past_the_count_limit_the_total_is_a_lower_bound_and_pages_go_on(
        self, library: Library, sort: SearchOrder
    ) -> None:
        everything = await library.ids("fox", sort=sort)
        pages = [
            await library.engine.counting.search(
                library.ada.id,
                SearchQuery("fox", sort=sort, page=n, page_size=3),
            )
            for n in (1, 2)
        ]
        at_limit = await library.engine.counting.search(
            library.ada.id, SearchQuery("fox -sketch")
        )

        assert len(everything) == SMALL_COUNT_LIMIT + 1
        assert [(p.total, p.total_exact) for p in pages] == [(3, False)] * 2
        assert [h.document_id for p in pages for h in p.hits] == everything
        assert (at_limit.total, at_limit.total_exact) == (3, True)

    async def test_another_users_and_trashed_documents_are_never_found(
        self, library: Library
    ) -> None:
        bobs = await library.engine.port.search(library.bob.id, SearchQuery("fox"))

        assert [hit.title for hit in bobs.hits] == ["Bob's fox"]
        assert bobs.total == 1
        assert await library.ids("notes") == [library.travel]
        assert await library.ids("bob") == []

    @pytest.mark.parametrize(
        "text",
        [
            "'; DROP TABLE read_model.documents; --",
            "a" * 999,
            '{"query": {"match_all": {}}}',
            "title:zebra~2^5 AND NOT x",
            "zebra\\' || true",
            "$$; SELECT pg_sleep(10); --",
            "<mark>zebra</mark>",
        ],
    )
    async def test_hostile_queries_are_just_text(
        self, library: Library, text: str
    ) -> None:
        assert (await library.find(text)).hits == ()
        assert await library.ids("acme") == [library.invoice]

    @pytest.mark.parametrize(
        "text", ["(((", "!!! & | :*", "*:*", "\\", "-fox", '-"fox"', "\x00", "OR"]
    )
    async def test_a_query_with_nothing_to_find_is_refused(
        self, library: Library, text: str
    ) -> None:
        with pytest.raises(SearchSyntaxError):
            await library.find(text)
