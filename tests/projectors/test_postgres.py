from __future__ import annotations

import logging
import uuid
from typing import Any

import psycopg
import pytest

from infra.auth import authenticate
from projectors.positions import current_position, project_batch
from projectors.postgres import text_search_config
from tests.projectors.conftest import dump
from tests.projectors.events import EventLog

Conn = psycopg.Connection[Any]


def one(conn: Conn, sql: str, *params: object) -> tuple[Any, ...]:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return tuple(row)


def test_a_registered_user_gets_folders_and_a_working_token(conn: Conn) -> None:
    log = EventLog()
    user = log.register("ada")

    project_batch(conn, log.envelopes)

    assert one(conn, "SELECT name, home_folder_id FROM read_model.users") == (
        "ada",
        user.home_folder_id,
    )
    titles = conn.execute("SELECT title FROM read_model.folders ORDER BY title")
    assert [r[0] for r in titles] == ["Home", "Inbox"]
    assert one(conn, "SELECT count(*) FROM read_model.api_tokens") == (1,)


async def test_a_revoked_token_no_longer_authenticates(
    conn: Conn, database_url: str
) -> None:
    log = EventLog()
    user = log.register("ada")
    token_id = log.issue_token(user, "plt_second")
    log.add("User.TokenRevoked", user.id, {"token_id": str(token_id)})

    project_batch(conn, log.envelopes)

    async with await psycopg.AsyncConnection.connect(database_url) as aconn:
        assert await authenticate(aconn, user.token) is not None
        assert await authenticate(aconn, "plt_second") is None


def test_a_folder_is_created_under_its_parent(conn: Conn) -> None:
    log = EventLog()
    user = log.register("ada")
    folder_id = log.folder(user, "Taxes", user.home_folder_id)

    project_batch(conn, log.envelopes)

    assert one(
        conn,
        "SELECT title, parent_id, owner_id FROM read_model.folders WHERE id = %s",
        folder_id,
    ) == ("Taxes", user.home_folder_id, user.id)


def test_document_events_change_the_document_row(conn: Conn) -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Invoice")
    log.add("Document.Renamed", document_id, {"title": "Invoice ACME"})
    log.add("Document.Tagged", document_id, {"tag": "tax"})
    log.add("Document.Tagged", document_id, {"tag": "bank"})
    log.add("Document.Untagged", document_id, {"tag": "tax"})
    log.add("Document.Moved", document_id, {"folder_id": str(user.home_folder_id)})
    log.add("Document.Trashed", document_id, {})

    project_batch(conn, log.envelopes)

    assert one(
        conn,
        "SELECT title, tags, folder_id, trashed, ocr_status, version"
        " FROM read_model.documents",
    ) == ("Invoice ACME", ["bank"], user.home_folder_id, True, "pending", 7)
    vector = one(conn, "SELECT search_vector::text FROM read_model.documents")[0]
    assert vector == "'acm':2A 'bank':3B 'invoic':1A"
    versions = conn.execute("SELECT version FROM read_model.document_events")
    assert sorted(r[0] for r in versions) == [1, 2, 3, 4, 5, 6, 7]


def test_a_restored_document_is_no_longer_trashed(conn: Conn) -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Invoice")
    log.add("Document.Trashed", document_id, {})
    project_batch(conn, log.envelopes)
    log.add("Document.Restored", document_id, {})

    project_batch(conn, log.envelopes[-1:])

    assert one(conn, "SELECT trashed FROM read_model.documents") == (False,)


def test_completed_ocr_stores_searchable_pages_in_the_document_language(
    conn: Conn,
) -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Brief", lang="deu")
    log.ocr(document_id, "Die Häuser", "Zweite Seite", lang="deu")

    project_batch(conn, log.envelopes)

    pages = conn.execute(
        "SELECT number, text, search_vector::text FROM read_model.pages ORDER BY 1"
    ).fetchall()
    assert pages == [
        (1, "Die Häuser", "'haus':2"),
        (2, "Zweite Seite", "'seit':2 'zweit':1"),
    ]
    assert one(
        conn, "SELECT ocr_status, archive_sha256 IS NOT NULL FROM read_model.documents"
    ) == (
        "completed",
        True,
    )


def test_failed_ocr_records_the_reason(conn: Conn) -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Scan")
    data = {"pdf_sha256": log.pdf_of(document_id), "reason": "encrypted"}
    log.add("Document.OcrFailed", document_id, data, actor="ocr")

    project_batch(conn, log.envelopes)

    assert one(conn, "SELECT ocr_status, ocr_reason FROM read_model.documents") == (
        "failed",
        "encrypted",
    )


def test_a_stale_ocr_outcome_leaves_the_pages_alone(conn: Conn) -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Scan")
    log.ocr(document_id, "current text")
    log.ocr(document_id, "stale text", pdf="0" * 64)

    project_batch(conn, log.envelopes)

    assert one(conn, "SELECT text FROM read_model.pages") == ("current text",)
    assert one(conn, "SELECT count(*) FROM read_model.document_events") == (3,)


@pytest.mark.parametrize(
    ("lang", "config"),
    [("eng", "english"), ("deu", "german"), ("fra", "simple"), ("deu+eng", "german")],
)
def test_the_language_picks_the_text_search_configuration(
    lang: str, config: str
) -> None:
    assert text_search_config(lang) == config


def test_a_redelivered_batch_changes_nothing(conn: Conn, database_url: str) -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Invoice")
    log.add("Document.Tagged", document_id, {"tag": "tax"})
    log.ocr(document_id, "page one")
    project_batch(conn, log.envelopes)
    before = dump(database_url)

    project_batch(conn, log.envelopes)
    project_batch(conn, log.envelopes[3:6])

    assert dump(database_url) == before


def project_then_crash(conn: Conn, log: EventLog) -> None:
    with conn.transaction():
        project_batch(conn, log.envelopes)
        raise RuntimeError("crash before commit")


def test_the_position_commits_with_the_change_or_not_at_all(conn: Conn) -> None:
    log = EventLog()
    log.register("ada")

    with pytest.raises(RuntimeError, match="crash"):
        project_then_crash(conn, log)

    assert current_position(conn) == 0
    assert one(conn, "SELECT count(*) FROM read_model.users") == (0,)
    assert project_batch(conn, log.envelopes) == log.position
    assert one(conn, "SELECT count(*) FROM read_model.users") == (1,)


def test_an_unknown_event_is_skipped_with_a_warning(
    conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    log = EventLog()
    user = log.register("ada")
    log.add("Document.Shared", uuid.uuid4(), {"with": "bob"}, owner_id=user.id)
    log.add("Tag.Created", uuid.uuid4(), {"name": "x"}, owner_id=user.id)

    with caplog.at_level(logging.WARNING, logger="projectors.postgres"):
        assert project_batch(conn, log.envelopes) == log.position

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "paperledger.events.Document.Shared" in warnings[0].getMessage()


def test_an_event_with_invalid_data_is_skipped_with_an_error(
    conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Invoice")
    log.add("Document.Renamed", document_id, {"title": ""})
    log.add("Document.Renamed", uuid.uuid4(), {"title": "no such document"})
    log.add("Document.Tagged", document_id, {"tag": "kept"})

    with caplog.at_level(logging.ERROR, logger="projectors.postgres"):
        project_batch(conn, log.envelopes)

    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert f"position {log.envelopes[5].position}" in errors[0]
    assert one(conn, "SELECT title, tags FROM read_model.documents") == (
        "Invoice",
        ["kept"],
    )


def test_nul_characters_are_dropped_rather_than_failing_the_batch(conn: Conn) -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Nul\x00title")
    log.ocr(document_id, "text\x00with nul")

    project_batch(conn, log.envelopes)

    assert one(conn, "SELECT title FROM read_model.documents") == ("Nultitle",)
    assert one(conn, "SELECT text FROM read_model.pages") == ("textwith nul",)
