"""The NATS side of an OCR worker: uploads in from JetStream, outcomes out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from infra.blobs import BlobNotFoundError, BlobStore
from infra.settings import Settings
from ocr_worker.abandoned import fail_abandoned_uploads
from ocr_worker.errors import (
    CommandNotAnsweredError,
    CommandRejectedError,
    MalformedUploadError,
    OcrFailedError,
)
from ocr_worker.ocr import ocr_pdf
from ocr_worker.reports import Reporter
from ocr_worker.uploads import Upload, read_upload
from schemas.subjects import DOCUMENT_UPLOADED, EVENTS_STREAM, OCR_CONSUMER

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT_SECONDS = 10.0
FETCH_SECONDS = 1.0
MAX_RETRY_DELAY_SECONDS = 60.0


def worker_name() -> str:
    """Returns this process's name in the commands it sends: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def retry_delay(delivered: int) -> float:
    """Returns how long an upload waits before its next delivery, growing."""
    return min(MAX_RETRY_DELAY_SECONDS, 2.0 ** (delivered - 1))


def _raise_if_cancelled() -> None:
    # A cancellation that races the timeout of a fetch can come out of nats-py
    # as a timeout; the task still knows it was asked to stop.
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class OcrWorker:
    """Takes uploads from the shared durable consumer, OCRs them, sends the outcome."""

    def __init__(
        self,
        client: Client,
        settings: Settings,
        *,
        name: str | None = None,
        command_timeout: float = COMMAND_TIMEOUT_SECONDS,
    ) -> None:
        self._client = client
        self._js = client.jetstream()
        self._blobs = BlobStore(self._js)
        self._settings = settings
        self._name = name or worker_name()
        self._reports = Reporter(client, self._name, command_timeout)

    async def run(self) -> None:
        """Handles uploads one at a time until cancelled."""
        subscription = await self._subscribe()
        advisories = await fail_abandoned_uploads(self._client, self._reports)
        logger.info("OCR worker %s takes uploads from %s", self._name, OCR_CONSUMER)
        try:
            while True:
                for msg in await self._fetch(subscription):
                    await self.handle(msg)
        finally:
            with contextlib.suppress(nats.errors.Error):
                await advisories.unsubscribe()

    async def _fetch(
        self, subscription: JetStreamContext.PullSubscription
    ) -> list[Msg]:
        try:
            return await subscription.fetch(1, timeout=FETCH_SECONDS)
        except nats.errors.TimeoutError:
            _raise_if_cancelled()
            return []
        except nats.errors.Error as e:
            _raise_if_cancelled()
            logger.warning("fetching uploads failed, trying again: %s", e)
            await asyncio.sleep(FETCH_SECONDS)
            return []

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        config = ConsumerConfig(
            durable_name=OCR_CONSUMER,
            filter_subject=DOCUMENT_UPLOADED,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=self._settings.ocr_max_deliveries,
            ack_wait=self._settings.ocr_ack_wait_seconds,
        )
        subscription = await self._js.pull_subscribe(
            DOCUMENT_UPLOADED, durable=OCR_CONSUMER, stream=EVENTS_STREAM, config=config
        )
        existing = (await subscription.consumer_info()).config
        if (existing.max_deliver, existing.ack_wait) != (
            config.max_deliver,
            config.ack_wait,
        ):
            # A durable consumer keeps the settings it was created with.
            logger.warning(
                "consumer %s keeps max_deliver=%s ack_wait=%ss from its creation",
                OCR_CONSUMER,
                existing.max_deliver,
                existing.ack_wait,
            )
        return subscription

    async def handle(self, msg: Msg) -> None:
        """OCRs the upload in ``msg`` and acks, naks or terminates it."""
        try:
            upload = read_upload(msg.data, msg.subject, logger)
        except MalformedUploadError as e:
            logger.error(
                "[%s stream seq %s] dropping a malformed upload message: %s",
                msg.subject,
                msg.metadata.sequence.stream,
                e,
            )
            await msg.term()
            return

        keep_alive = asyncio.create_task(self._keep_alive(msg))
        try:
            await self._process(msg, upload)
        except asyncio.CancelledError:
            upload.log.info("worker stopping; the upload goes back to the queue")
            await msg.nak()
            raise
        finally:
            keep_alive.cancel()

    async def _process(self, msg: Msg, upload: Upload) -> None:
        delivered = msg.metadata.num_delivered
        last_try = delivered >= self._settings.ocr_max_deliveries
        try:
            reason = await self._complete(upload, persist=last_try)
            if reason is not None:
                upload.log.warning("OCR failed: %s", reason)
                await self._reports.fail(upload, reason, persist=last_try)
        except CommandNotAnsweredError as e:
            upload.log.warning("%s; trying again later", e)
            await msg.nak(delay=retry_delay(delivered))
            return
        except Exception as e:
            if not last_try:
                upload.log.warning(
                    "OCR attempt %d failed, trying again: %s",
                    delivered,
                    e,
                    exc_info=True,
                )
                await msg.nak(delay=retry_delay(delivered))
                return
            upload.log.error("OCR attempt %d failed, giving up: %s", delivered, e)
            if not await self._give_up(upload, f"OCR failed {delivered} times: {e}"):
                await msg.term()
                return
        await msg.ack()

    async def _complete(self, upload: Upload, *, persist: bool) -> str | None:
        """OCRs the upload and sends CompleteOcr; returns why it cannot, if so."""
        data = upload.data
        await self._reports.progress(upload, "started", 0)
        try:
            pdf = await self._blobs.get(data.pdf_sha256)
        except BlobNotFoundError:
            return f"the PDF {data.pdf_sha256} is missing from the blob store"

        async def on_page(done: int) -> None:
            await self._reports.progress(upload, "page", done)

        try:
            result = await ocr_pdf(
                pdf,
                data.lang,
                time_limit=self._settings.ocr_timeout_seconds,
                jobs=self._settings.ocr_jobs,
                tessdata_dir=self._settings.tessdata_dir,
                on_page=on_page,
            )
        except OcrFailedError as e:
            return str(e)

        archive_sha256 = await self._blobs.put(result.archive)
        await self._reports.complete(upload, result, archive_sha256, persist=persist)
        upload.log.info(
            "document %s OCR finished: %d pages in %.1f s",
            upload.document_id,
            len(result.pages),
            result.seconds,
        )
        return None

    async def _give_up(self, upload: Upload, reason: str) -> bool:
        """Sends FailOcr for a poison upload; tells whether it was accepted."""
        try:
            await self._reports.fail(upload, reason, persist=True)
        except CommandRejectedError as e:
            upload.log.error("the command API refused FailOcr too, dropping: %s", e)
            return False
        return True

    async def _keep_alive(self, msg: Msg) -> None:
        """Tells JetStream the upload is still being worked on, until cancelled."""
        interval = self._settings.ocr_ack_wait_seconds / 3
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(nats.errors.Error):
                await msg.in_progress()
