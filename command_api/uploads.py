"""Checks an uploaded file by its content and turns images into a PDF for OCR."""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath

import img2pdf
import pikepdf
from PIL import Image, UnidentifiedImageError

from command_api.errors import UnreadableFileError, UnsupportedFileError

PDF = "application/pdf"
# A scan at 600 dpi on A3 is about 70 megapixels; far beyond that is a bomb.
MAX_IMAGE_PIXELS = 120_000_000
MAX_PAGES = 5000
MAX_FILENAME_BYTES = 200

_SIGNATURES = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
_EXTENSIONS = {
    PDF: ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/tiff": ".tiff",
}


@dataclass(frozen=True)
class CheckedUpload:
    """An accepted upload: its type, the PDF that OCR reads and its page count."""

    content_type: str
    pdf: bytes
    page_count: int


def sniff(data: bytes) -> str:
    """Returns the media type of ``data`` from its first bytes, whatever its name."""
    if not data:
        raise UnreadableFileError("the file is empty")
    # PDF readers accept a header anywhere in the first kilobyte.
    if b"%PDF-" in data[:1024]:
        return PDF
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    raise UnsupportedFileError(
        "only PDF, PNG, JPEG and TIFF files are accepted; this file is none of them"
    )


def check(data: bytes) -> CheckedUpload:
    """Returns the upload as a readable PDF, or raises saying why it cannot be one."""
    content_type = sniff(data)
    pdf = data if content_type == PDF else _image_to_pdf(data)
    return CheckedUpload(content_type, pdf, _page_count(pdf))


def _page_count(pdf: bytes) -> int:
    try:
        with pikepdf.open(io.BytesIO(pdf)) as document:
            if document.is_encrypted:
                raise UnreadableFileError(
                    "the PDF is encrypted; remove its password and upload it again"
                )
            count = len(document.pages)
    except pikepdf.PasswordError:
        raise UnreadableFileError(
            "the PDF is encrypted; remove its password and upload it again"
        ) from None
    except pikepdf.PdfError:
        raise UnreadableFileError(
            "the PDF cannot be read: it is damaged or not really a PDF"
        ) from None
    if count == 0:
        raise UnreadableFileError("the PDF has no pages")
    if count > MAX_PAGES:
        raise UnreadableFileError(f"the PDF has more than {MAX_PAGES} pages")
    return count


def _image_to_pdf(data: bytes) -> bytes:
    frames = _frames(data)
    try:
        converted = img2pdf.convert(frames, rotation=img2pdf.Rotation.ifvalid)
    except Exception:
        raise UnreadableFileError("the image cannot be converted to a PDF") from None
    return bytes(converted)


def _frames(data: bytes) -> list[bytes]:
    """Returns each frame of the image in a form img2pdf embeds losslessly."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise UnreadableFileError("the image has too many pixels")
            frames = []
            for index in range(getattr(image, "n_frames", 1)):
                image.seek(index)
                frames.append(_frame(image, data, index))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UnreadableFileError(
            "the image cannot be read: it is damaged or not really an image"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnreadableFileError("the image has too many pixels") from None
    return frames


def _frame(image: Image.Image, data: bytes, index: int) -> bytes:
    image.load()
    if image.format == "JPEG" and index == 0:
        return data
    if image.mode not in ("1", "L", "RGB", "CMYK"):
        image = image.convert("RGB")
    out = io.BytesIO()
    dpi = image.info.get("dpi", (300, 300))
    image.save(out, format="PNG", dpi=dpi)
    return out.getvalue()


_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"|?*\\/]")


def safe_filename(name: str | None, content_type: str) -> str:
    """Returns a filename fit to store and show: no path, no control characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = PurePosixPath(name.replace("\\", "/")).name
    name = _UNSAFE.sub("_", name).strip(" .")
    suffix = PurePosixPath(name).suffix if len(name) > 1 else ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    while len((stem + suffix).encode()) > MAX_FILENAME_BYTES:
        stem = stem[:-1]
    name = stem + suffix if stem else ""
    if not name:
        name = "upload" + _EXTENSIONS[content_type]
    return name


def default_title(filename: str) -> str:
    """Returns the title a document gets from its filename."""
    stem = PurePosixPath(filename).stem.strip()
    return stem or filename
