from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nats.aio.client import Client

from infra.blobs import BlobStore
from ocr_worker.ocrmypdf_plugin import PARENT_PID_ENV
from schemas.commands import CompleteOcr
from schemas.subjects import COMPLETE_OCR
from tests.ocr_worker.bus import command_desk, progress_log, publish_upload
from tests.scans import image_only_pdf


@contextmanager
def worker_process(nats_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """Runs ``python -m ocr_worker`` as an operator would, quick to redeliver."""
    env = {
        **os.environ,
        "PAPERLEDGER_NATS_URL": nats_url,
        "PAPERLEDGER_OCR_ACK_WAIT_SECONDS": "2",
        "PAPERLEDGER_OCR_MAX_DELIVERIES": "4",
    }
    process = subprocess.Popen([sys.executable, "-m", "ocr_worker"], env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def ocr_children_of(pid: int) -> list[int]:
    """Returns the OCRmyPDF processes started by the worker with ``pid``."""
    marker = f"{PARENT_PID_ENV}={pid}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def running(pid: int) -> bool:
    """Tells whether process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def gone(pids: list[int]) -> bool:
    """Tells whether every process in ``pids`` has ended within a few seconds."""
    for _ in range(50):
        if not any(running(pid) for pid in pids):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_worker_killed_mid_ocr_leaves_the_upload_to_another_worker(
    client: Client, nats_url: str
) -> None:
    js = client.jetstream()
    pdf = image_only_pdf([["Walrus harbour"], ["Zebra crossing"]])
    pdf_sha256 = await BlobStore(js).put(pdf)

    async with command_desk(client) as desk, progress_log(client) as progress:
        with worker_process(nats_url) as first:
            await publish_upload(js, pdf_sha256, position=1, page_count=2)
            await progress.until("page")
            orphans = ocr_children_of(first.pid)
            first.send_signal(signal.SIGKILL)
        with worker_process(nats_url) as second:
            subject, body = await desk.next()
            second.send_signal(signal.SIGTERM)
            returncode = await asyncio.to_thread(second.wait, 10)

    command = CompleteOcr.model_validate_json(body)
    assert subject == COMPLETE_OCR
    assert command.worker.endswith(f":{second.pid}")
    assert "Walrus" in command.pages[0].text
    assert "Zebra" in command.pages[1].text
    assert desk.counts.total() == 1
    assert orphans
    assert await gone(orphans)
    assert returncode == 0
