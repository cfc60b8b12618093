"""Small generated scans with known words, for tests that run real OCR."""

from __future__ import annotations

import io

import img2pdf
from PIL import Image, ImageDraw, ImageFont

DPI = 150


def page_image(lines: list[str], fmt: str = "PNG") -> bytes:
    """Returns one letter-size page at 150 dpi with ``lines`` printed on it."""
    font = ImageFont.load_default(size=40)
    image = Image.new("L", (int(8.5 * DPI), 11 * DPI), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((100, 150 + i * 80), line, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format=fmt, dpi=(DPI, DPI))
    return out.getvalue()


def image_only_pdf(pages: list[list[str]]) -> bytes:
    """Returns a PDF of scanned pages that has no text layer at all."""
    converted = img2pdf.convert([page_image(lines) for lines in pages])
    assert converted is not None
    return bytes(converted)


def multipage_tiff(pages: list[list[str]]) -> bytes:
    """Returns a multi-page TIFF scan."""
    images = [Image.open(io.BytesIO(page_image(lines))) for lines in pages]
    out = io.BytesIO()
    images[0].save(
        out,
        format="TIFF",
        save_all=True,
        append_images=images[1:],
        dpi=(DPI, DPI),
        compression="tiff_deflate",
    )
    return out.getvalue()
