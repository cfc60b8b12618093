from __future__ import annotations

from ocr_worker.pages import split_sidecar


def test_pages_are_split_at_form_feeds_and_an_empty_page_keeps_its_place() -> None:
    pages = split_sidecar("first\n\f\fthird\n", 3)

    assert pages == ["first", "", "third"]


def test_a_run_of_skipped_pages_stands_for_each_of_its_pages() -> None:
    sidecar = "[OCR skipped on page(s) 1-2]\fthird\f[OCR skipped on page(s) 4]"

    pages = split_sidecar(sidecar, 4)

    assert pages == [None, None, "third", None]


def test_a_sidecar_with_the_wrong_number_of_pages_is_not_trusted() -> None:
    assert split_sidecar("one\ftwo", 3) is None
