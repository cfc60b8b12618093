"""The text of every page, from OCRmyPDF's sidecar file and the archive PDF."""

from __future__ import annotations

import logging
import re

import pypdfium2

logger = logging.getLogger(__name__)

# OCRmyPDF writes this instead of text for a run of pages it did not OCR, such
# as pages that already had text; one marker stands for the whole run.
_SKIPPED = re.compile(r"\[OCR skipped on page\(s\) (\d+)(?:-(\d+))?\]")


def split_sidecar(sidecar: str, page_count: int) -> list[str | None] | None:
    """Returns each page's text from a sidecar, None for a page OCR skipped.

    Pages are separated by form feeds, an empty page keeps its place. Returns
    None when the sidecar does not describe exactly ``page_count`` pages.
    """
    pages: list[str | None] = []
    for chunk in sidecar.split("\f"):
        skipped = _SKIPPED.fullmatch(chunk.strip())
        if skipped and int(skipped[1]) == len(pages) + 1:
            last = int(skipped[2] or skipped[1])
            pages.extend(None for _ in range(int(skipped[1]), last + 1))
        else:
            pages.append(chunk.strip())
    return pages if len(pages) == page_count else None


def page_texts(archive: bytes, sidecar: str) -> list[str]:
    """Returns the text of every page of ``archive``, in page order."""
    document = pypdfium2.PdfDocument(archive)
    try:
        page_count = len(document)
        pages = split_sidecar(sidecar, page_count)
        if pages is None:
            logger.warning(
                "sidecar does not match the %d pages; reading the text layer instead",
                page_count,
            )
            pages = [None] * page_count
        return [
            text if text is not None else _text_layer(document, number)
            for number, text in enumerate(pages)
        ]
    finally:
        document.close()


def _text_layer(document: pypdfium2.PdfDocument, index: int) -> str:
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            return str(textpage.get_text_bounded()).strip()
        finally:
            textpage.close()
    finally:
        page.close()
