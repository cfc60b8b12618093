"""The aggregates' rules, without any storage."""

from __future__ import annotations

from uuid import uuid4

from command_api.domain import Document

PDF = "a" * 64
OTHER_PDF = "c" * 64


def _document() -> Document:
    return Document(
        uuid4(),
        title="Scan",
        folder_id=uuid4(),
        lang="eng",
        original={
            "sha256": PDF,
            "filename": "s.pdf",
            "content_type": "application/pdf",
            "size": 3,
        },
        pdf_sha256=PDF,
        page_count=1,
        actor="u",
        owner_id=uuid4(),
    )


def _names(document: Document) -> list[str]:
    return [type(e).__name__ for e in document.collect_events()]


def test_tagging_twice_records_one_event() -> None:
    document = _document()

    document.tag("tax", actor="u")
    document.tag("tax", actor="u")

    assert _names(document) == ["Uploaded", "Tagged"]


def test_renaming_to_the_same_title_records_nothing() -> None:
    document = _document()

    document.rename("Scan", actor="u")

    assert _names(document) == ["Uploaded"]


def test_ocr_of_another_pdf_is_stale_and_changes_nothing() -> None:
    document = _document()

    changed = document.complete_ocr(OTHER_PDF, "b" * 64, "eng", [], 1.0)

    assert not changed
    assert document.ocr_status == "pending"


def test_a_failure_after_completed_ocr_changes_nothing() -> None:
    document = _document()
    document.complete_ocr(PDF, "b" * 64, "eng", [{"number": 1, "text": "x"}], 1.0)

    changed = document.fail_ocr(PDF, "late failure")

    assert not changed
    assert document.ocr_status == "completed"


def test_trash_and_restore_toggle_once_each() -> None:
    document = _document()

    document.trash(actor="u")
    document.trash(actor="u")
    document.restore(actor="u")

    assert _names(document) == ["Uploaded", "Trashed", "Restored"]
