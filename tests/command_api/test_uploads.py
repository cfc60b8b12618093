"""Recognising uploads by content, and naming them safely."""

from __future__ import annotations

import io

import pikepdf
import pytest

from command_api.errors import UnreadableFileError, UnsupportedFileError
from command_api.uploads import PDF, check, safe_filename, sniff
from tests.scans import image_only_pdf, multipage_tiff, page_image


def test_a_pdf_is_recognised_and_counted() -> None:
    checked = check(image_only_pdf([["one"], ["two"]]))

    assert (checked.content_type, checked.page_count) == (PDF, 2)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (page_image(["png"]), "image/png"),
        (page_image(["jpeg"], "JPEG"), "image/jpeg"),
        (multipage_tiff([["a"], ["b"]]), "image/tiff"),
    ],
)
def test_images_become_pdfs(data: bytes, content_type: str) -> None:
    checked = check(data)

    assert checked.content_type == content_type
    assert checked.pdf.startswith(b"%PDF-")


def test_every_page_of_a_tiff_becomes_a_page() -> None:
    assert check(multipage_tiff([["a"], ["b"], ["c"]])).page_count == 3


@pytest.mark.parametrize(
    "data", [b"plain text", b"<html><script>alert(1)</script>", b"PK\x03\x04zip"]
)
def test_other_content_is_unsupported_whatever_it_is_called(data: bytes) -> None:
    with pytest.raises(UnsupportedFileError):
        sniff(data)


@pytest.mark.parametrize(
    "data",
    [b"", b"%PDF-1.7\nnot really a pdf at all", b"\x89PNG\r\n\x1a\ntruncated"],
)
def test_empty_or_damaged_files_are_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableFileError):
        check(data)


def test_an_encrypted_pdf_is_refused_with_a_reason() -> None:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(image_only_pdf([["secret"]]))) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(owner="o", user="u"))

    with pytest.raises(UnreadableFileError, match="encrypted"):
        check(out.getvalue())


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("a\x00b<script>.pdf", "a_b_script_.pdf"),
        ("...", "upload.pdf"),
        (None, "upload.pdf"),
        ("é" * 300 + ".pdf", "é" * 98 + ".pdf"),
    ],
)
def test_hostile_filenames_are_made_safe(name: str | None, safe: str) -> None:
    assert safe_filename(name, PDF) == safe
