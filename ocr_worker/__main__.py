"""Runs one OCR worker: ``python -m ocr_worker``; it needs nothing but NATS."""

from __future__ import annotations

import asyncio
import logging
import signal

from infra.logs import configure_logging
from infra.nats import connect, ensure_blob_bucket, ensure_stream
from infra.settings import Settings, get_settings, require
from ocr_worker.consumer import OcrWorker, worker_name

logger = logging.getLogger(__name__)


async def serve(settings: Settings) -> None:
    """Runs a worker until SIGTERM or SIGINT, then hands back its upload."""
    client = await connect(require(settings.nats_url, "nats_url"), worker_name())
    try:
        js = client.jetstream()
        await ensure_stream(js)
        await ensure_blob_bucket(js)
        work = asyncio.create_task(OcrWorker(client, settings).run())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, work.cancel)
        try:
            await work
        except asyncio.CancelledError:
            logger.info("OCR worker stopped")
    finally:
        await client.flush()
        await client.close()


def main() -> None:
    """Reads the settings and serves until stopped."""
    settings = get_settings()
    configure_logging("ocr-worker", settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
