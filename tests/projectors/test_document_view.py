from __future__ import annotations

import pytest

from projectors.document_view import evolve, fold
from projectors.errors import EventOutOfPlaceError
from tests.projectors.events import EventLog, sha


def test_an_upload_starts_a_document_waiting_for_ocr() -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Invoice")

    view = fold(log.envelopes[4:])

    assert view is not None
    assert (view.id, view.title, view.ocr_status) == (document_id, "Invoice", "pending")
    assert (view.owner_id, view.folder_id) == (user.id, user.inbox_folder_id)
    assert view.version == 1


def test_tags_keep_their_order_and_appear_once() -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Invoice")
    for tag in ("tax", "2024", "tax", "bank"):
        log.add("Document.Tagged", document_id, {"tag": tag})
    log.add("Document.Untagged", document_id, {"tag": "2024"})

    view = fold(log.envelopes[4:])

    assert view is not None
    assert view.tags == ("tax", "bank")
    assert view.version == 6


def test_ocr_of_the_current_pdf_completes_the_document() -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Letter")
    log.ocr(document_id, "second page", "first page", lang="deu")

    view = fold(log.envelopes[4:])

    assert view is not None
    assert view.ocr_status == "completed"
    assert [p.text for p in view.pages] == ["second page", "first page"]
    assert view.lang == "deu"
    assert view.archive_sha256 == sha(f"archive of {document_id}")


def test_a_stale_ocr_outcome_changes_nothing_but_the_version() -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Letter")
    before = fold(log.envelopes[4:])
    stale = log.ocr(document_id, "old text", pdf=sha("an older pdf"))

    after = evolve(before, stale)

    assert before is not None
    assert after.model_copy(update={"version": 1}) == before
    assert after.version == 2


def test_a_failed_ocr_records_the_reason() -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Letter")
    data = {"pdf_sha256": log.pdf_of(document_id), "reason": "encrypted PDF"}
    log.add("Document.OcrFailed", document_id, data, actor="ocr")

    view = fold(log.envelopes[4:])

    assert view is not None
    assert (view.ocr_status, view.ocr_reason) == ("failed", "encrypted PDF")


def test_a_replayed_event_changes_nothing() -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Letter")
    renamed = log.add("Document.Renamed", document_id, {"title": "Reply"})
    log.add("Document.Renamed", document_id, {"title": "Final"})
    view = fold(log.envelopes[4:])

    assert view is not None
    assert evolve(view, renamed) == view


def test_trash_restore_rename_and_move_are_followed() -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Letter")
    log.add("Document.Trashed", document_id, {})
    log.add("Document.Moved", document_id, {"folder_id": str(user.home_folder_id)})
    log.add("Document.Renamed", document_id, {"title": "Reply"})
    trashed = fold(log.envelopes[4:])
    log.add("Document.Restored", document_id, {})

    view = fold(log.envelopes[4:])

    assert trashed is not None
    assert trashed.trashed
    assert view is not None
    assert not view.trashed
    assert (view.title, view.folder_id) == ("Reply", user.home_folder_id)
    assert view.updated_at == log.envelopes[-1].timestamp


def test_an_event_before_the_upload_is_out_of_place() -> None:
    log = EventLog()
    user = log.register("ada")
    document_id = log.upload(user, "Letter")
    renamed = log.add("Document.Renamed", document_id, {"title": "Reply"})

    with pytest.raises(EventOutOfPlaceError):
        evolve(None, renamed)
