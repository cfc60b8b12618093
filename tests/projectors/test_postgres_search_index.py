from __future__ import annotations

import random
import string
from typing import Any
from uuid import UUID

import psycopg

from infra.postgres import create_read_models
from projectors.positions import project_batch
from tests.projectors.events import EventLog

Conn = psycopg.Connection[Any]


def lexemes(conn: Conn, column: str, document_id: UUID) -> set[str]:
    """Returns the lexemes of a vector of a document, without the search mark."""
    rows = conn.execute(
        f"SELECT u.lexeme FROM read_model.documents d, unnest(d.{column}) AS u"
        " WHERE d.id = %s AND u.lexeme NOT LIKE ' %%'",
        (document_id,),
    )
    return {row[0] for row in rows}


def test_the_match_vector_holds_title_tags_and_every_page(conn: Conn) -> None:
    log = EventLog()
    ada = log.register("ada")
    document_id = log.upload(ada, "Invoice")
    log.add("Document.Tagged", document_id, {"tag": "travel"})
    log.ocr(document_id, "lighthouse keeper", "harbour fees")

    project_batch(conn, log.envelopes)

    assert lexemes(conn, "match_vector", document_id) == {
        "invoic",
        "travel",
        "lighthous",
        "keeper",
        "harbour",
        "fee",
    }


def test_the_match_vector_is_marked_and_the_rank_keys_say_where_and_how_often(
    conn: Conn,
) -> None:
    log = EventLog()
    ada = log.register("ada")
    document_id = log.upload(ada, "Keeper of the light")
    log.add("Document.Tagged", document_id, {"tag": "light"})
    log.ocr(document_id, "lighthouse keeper", "keeper, harbour and harbour fees")
    log.add("Document.Renamed", document_id, {"title": "Keeper"})

    project_batch(conn, log.envelopes)

    marks = conn.execute(
        "SELECT u.lexeme FROM read_model.documents d, unnest(d.match_vector) AS u"
        " WHERE d.id = %s AND u.lexeme LIKE ' %%'",
        (document_id,),
    ).fetchall()
    assert marks == [(f" english {ada.id}",)]
    assert lexemes(conn, "rank_keys", document_id) == {
        "keeper a3",
        "light b1",
        "harbour c2",
    }


def test_a_rename_keeps_the_pages_in_the_match_vector_and_a_failure_drops_them(
    conn: Conn,
) -> None:
    log = EventLog()
    ada = log.register("ada")
    document_id = log.upload(ada, "Invoice")
    log.ocr(document_id, "lighthouse")
    project_batch(conn, log.envelopes)
    log.add("Document.Renamed", document_id, {"title": "Receipt"})

    project_batch(conn, log.envelopes)
    renamed = lexemes(conn, "match_vector", document_id)
    log.add(
        "Document.OcrFailed",
        document_id,
        {"pdf_sha256": log.pdf_of(document_id), "reason": "unreadable"},
    )
    project_batch(conn, log.envelopes)

    assert renamed == {"receipt", "lighthous"}
    assert lexemes(conn, "match_vector", document_id) == {"receipt"}


def test_the_vocabulary_keeps_each_owners_words_as_written(conn: Conn) -> None:
    log = EventLog()
    ada, bob = log.register("ada"), log.register("bob")
    log.ocr(log.upload(ada, "Häuser"), "Running to the lighthouse, 42 times")
    log.upload(bob, "Zebra")

    project_batch(conn, log.envelopes)

    words = conn.execute(
        "SELECT word FROM read_model.vocabulary WHERE owner_id = %s", (ada.id,)
    )
    assert {row[0] for row in words} == {
        "häuser",
        "running",
        "the",
        "lighthouse",
        "times",
    }


def test_each_owners_search_configurations_are_kept_and_recorded_once_for_old_ones(
    conn: Conn, database_url: str
) -> None:
    log = EventLog()
    ada, bob = log.register("ada"), log.register("bob")
    log.upload(ada, "Invoice")
    log.upload(ada, "Brief von der Bank", lang="deu")
    log.upload(ada, "Second invoice")
    log.upload(bob, "Zebra", lang="fra")
    project_batch(conn, log.envelopes)

    def recorded() -> set[tuple[UUID, str]]:
        rows = conn.execute(
            "SELECT owner_id, config::text FROM read_model.search_configs"
        )
        return {(row[0], row[1]) for row in rows}

    expected = {(ada.id, "english"), (ada.id, "german"), (bob.id, "simple")}
    assert recorded() == expected
    # Read models made before the table existed get it filled when the schema
    # is applied; a table that has rows is left as it is.
    conn.execute("DELETE FROM read_model.search_configs")
    create_read_models(database_url)
    assert recorded() == expected
    conn.execute("DELETE FROM read_model.search_configs WHERE owner_id = %s", (bob.id,))
    create_read_models(database_url)
    assert recorded() == expected - {(bob.id, "simple")}


def test_a_document_larger_than_a_tsvector_keeps_the_lexemes_that_fit(
    conn: Conn,
) -> None:
    log = EventLog()
    ada = log.register("ada")
    draw = random.Random(7)
    words = ["".join(draw.choices(string.ascii_lowercase, k=9)) for _ in range(100_000)]
    pages = [" ".join(words[i : i + 10_000]) for i in range(0, len(words), 10_000)]
    document_id = log.upload(ada, "Telephone book")
    log.ocr(document_id, *pages)

    project_batch(conn, log.envelopes)

    kept = lexemes(conn, "match_vector", document_id)
    pages_lexemes = conn.execute(
        "SELECT count(DISTINCT u.lexeme) FROM read_model.pages p,"
        " unnest(p.search_vector) AS u WHERE p.document_id = %s",
        (document_id,),
    ).fetchone()
    assert {"telephon", "book"} <= kept
    assert pages_lexemes is not None
    assert 50_000 < len(kept) < pages_lexemes[0]


def test_the_search_indexes_take_new_entries_in_without_a_pending_list(
    conn: Conn, database_url: str
) -> None:
    indexes = ("documents_match_rank", "documents_tags", "vocabulary_trigrams")

    def pending() -> dict[str, int]:
        counts = {}
        for index in indexes:
            row = conn.execute(
                "SELECT gin_clean_pending_list(%s::regclass)", (f"read_model.{index}",)
            ).fetchone()
            assert row is not None
            counts[index] = row[0]
        return counts

    log = EventLog()
    ada = log.register("ada")
    draw = random.Random(11)
    for number in range(10):
        words = ["".join(draw.choices(string.ascii_lowercase, k=9)) for _ in range(800)]
        log.ocr(log.upload(ada, f"Ledger {number}"), " ".join(words))
    project_batch(conn, log.envelopes)

    assert pending() == dict.fromkeys(indexes, 0)
    # Entries left pending by read models made before are moved in when the
    # schema is applied.
    for index in indexes:
        conn.execute(f"ALTER INDEX read_model.{index} SET (fastupdate = on)")
    log.add("Document.Tagged", log.envelopes[-1].aggregate_id, {"tag": "ledger"})
    project_batch(conn, log.envelopes)
    create_read_models(database_url)
    assert pending() == dict.fromkeys(indexes, 0)
