from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pypdfium2
import pytest

from ocr_worker.errors import OcrFailedError
from ocr_worker.ocr import OcrResult, ocr_pdf
from tests.scans import image_only_pdf

SCAN = image_only_pdf([["Walrus harbour"], [], ["Zebra crossing"]])


@pytest.fixture(scope="module")
async def progress_and_result() -> tuple[list[int], OcrResult]:
    done: list[int] = []

    async def record(pages: int) -> None:
        done.append(pages)

    result = await ocr_pdf(SCAN, "eng", time_limit=120, on_page=record)
    return done, result


def encrypted(pdf: bytes) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        document.save(out, encryption=pikepdf.Encryption(owner="o", user="u"))
    return out.getvalue()


def test_each_page_text_lands_on_its_page_and_an_empty_page_keeps_its_number(
    progress_and_result: tuple[list[int], OcrResult],
) -> None:
    _, result = progress_and_result

    assert len(result.pages) == 3
    assert "Walrus" in result.pages[0]
    assert result.pages[1] == ""
    assert "Zebra" in result.pages[2]
    assert "Zebra" not in result.pages[0]


def test_progress_is_reported_once_per_page_in_order(
    progress_and_result: tuple[list[int], OcrResult],
) -> None:
    done, _ = progress_and_result

    assert done == [1, 2, 3]


def test_the_archive_pdf_has_a_searchable_text_layer(
    progress_and_result: tuple[list[int], OcrResult],
) -> None:
    _, result = progress_and_result

    document = pypdfium2.PdfDocument(result.archive)
    texts = [document[i].get_textpage().get_text_bounded() for i in range(3)]
    document.close()

    assert "Walrus" in texts[0]
    assert "Zebra" in texts[2]


async def test_corrupt_bytes_fail_with_a_readable_reason() -> None:
    with pytest.raises(OcrFailedError, match="damaged or is not a PDF"):
        await ocr_pdf(b"%PDF-1.4 torn in half", "eng", time_limit=60)


async def test_an_encrypted_pdf_fails_with_a_readable_reason() -> None:
    with pytest.raises(OcrFailedError, match="encrypted"):
        await ocr_pdf(encrypted(SCAN), "eng", time_limit=60)


async def test_ocr_that_takes_too_long_is_killed_and_reported() -> None:
    with pytest.raises(OcrFailedError, match=r"OCR timed out after 0\.01 s"):
        await ocr_pdf(SCAN, "eng", time_limit=0.01)


async def test_an_unknown_language_fails_with_a_readable_reason() -> None:
    with pytest.raises(OcrFailedError, match=r"language xyz is not installed"):
        await ocr_pdf(SCAN, "eng+xyz", time_limit=60)


async def test_the_tessdata_setting_decides_which_languages_exist(
    tmp_path: Path,
) -> None:
    with pytest.raises(OcrFailedError, match=r"installed: none"):
        await ocr_pdf(SCAN, "eng", time_limit=60, tessdata_dir=tmp_path)
