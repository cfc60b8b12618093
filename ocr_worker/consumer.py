"""The NATS side of an OCR worker: uploads in from JetStream, commands out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import BaseModel, ValidationError

from infra.blobs import BlobNotFoundError, BlobStore
from infra.settings import Settings
from ocr_worker.errors import (
    CommandNotAnsweredError,
    CommandRejectedError,
    OcrFailedError,
)
from ocr_worker.ocr import ocr_pdf
from schemas.commands import CommandReply, CompleteOcr, FailOcr, OcrProgress
from schemas.events import DocumentUploaded, EventEnvelope, PageText, validate_event
from schemas.subjects import (
    COMPLETE_OCR,
    DOCUMENT_UPLOADED,
    EVENTS_STREAM,
    FAIL_OCR,
    OCR_CONSUMER,
    progress_subject,
)

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


class _MessageLog(logging.LoggerAdapter[logging.Logger]):
    """Stamps every record with the subject, position and document it is about."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        assert self.extra is not None
        kwargs["extra"] = {**self.extra, **kwargs.get("extra", {})}
        context = "{subject} #{position} document {document_id}".format_map(self.extra)
        return f"[{context}] {msg}", kwargs


@dataclass(frozen=True)
class _Job:
    """One delivery of one upload, and where to report on it."""

    msg: Msg
    envelope: EventEnvelope
    upload: DocumentUploaded
    log: _MessageLog

    @property
    def document_id(self) -> UUID:
        return self.envelope.aggregate_id


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
        self._command_timeout = command_timeout

    async def run(self) -> None:
        """Handles uploads one at a time until cancelled."""
        subscription = await self._subscribe()
        logger.info("OCR worker %s takes uploads from %s", self._name, OCR_CONSUMER)
        while True:
            try:
                messages = await subscription.fetch(1, timeout=FETCH_SECONDS)
            except nats.errors.TimeoutError:
                _raise_if_cancelled()
                continue
            except nats.errors.Error as e:
                _raise_if_cancelled()
                logger.warning("fetching uploads failed, trying again: %s", e)
                await asyncio.sleep(FETCH_SECONDS)
                continue
            for msg in messages:
                await self.handle(msg)

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
        job = self._job(msg)
        if job is None:
            await msg.term()
            return

        keep_alive = asyncio.create_task(self._keep_alive(msg))
        try:
            await self._process(job)
        except asyncio.CancelledError:
            job.log.info("worker stopping; the upload goes back to the queue")
            await msg.nak()
            raise
        finally:
            keep_alive.cancel()

    def _job(self, msg: Msg) -> _Job | None:
        try:
            envelope = EventEnvelope.model_validate_json(msg.data)
            upload = validate_event(envelope)
            if not isinstance(upload, DocumentUploaded):
                raise TypeError(f"{envelope.type} is not Document.Uploaded")
        except (ValueError, TypeError) as e:
            logger.error(
                "[%s stream seq %s] dropping a malformed upload message: %s",
                msg.subject,
                msg.metadata.sequence.stream,
                e,
            )
            return None
        context = {
            "subject": msg.subject,
            "position": envelope.position,
            "document_id": str(envelope.aggregate_id),
        }
        return _Job(msg, envelope, upload, _MessageLog(logger, context))

    async def _process(self, job: _Job) -> None:
        delivered = job.msg.metadata.num_delivered
        last_try = delivered >= self._settings.ocr_max_deliveries
        try:
            reason = await self._complete(job, persist=last_try)
            if reason is not None:
                job.log.warning("OCR failed: %s", reason)
                await self._fail(job, reason, persist=last_try)
        except CommandNotAnsweredError as e:
            job.log.warning("%s; trying again later", e)
            await job.msg.nak(delay=retry_delay(delivered))
            return
        except Exception as e:
            if not last_try:
                job.log.warning(
                    "OCR attempt %d failed, trying again: %s",
                    delivered,
                    e,
                    exc_info=True,
                )
                await job.msg.nak(delay=retry_delay(delivered))
                return
            job.log.error("OCR attempt %d failed, giving up: %s", delivered, e)
            if not await self._give_up(job, f"OCR failed {delivered} times: {e}"):
                await job.msg.term()
                return
        await job.msg.ack()

    async def _complete(self, job: _Job, *, persist: bool) -> str | None:
        """OCRs the upload and sends CompleteOcr; returns why it cannot, if so."""
        upload = job.upload
        await self._progress(job, "started", 0)
        try:
            pdf = await self._blobs.get(upload.pdf_sha256)
        except BlobNotFoundError:
            return f"the PDF {upload.pdf_sha256} is missing from the blob store"

        async def on_page(done: int) -> None:
            await self._progress(job, "page", done)

        try:
            result = await ocr_pdf(
                pdf,
                upload.lang,
                time_limit=self._settings.ocr_timeout_seconds,
                jobs=self._settings.ocr_jobs,
                tessdata_dir=self._settings.tessdata_dir,
                on_page=on_page,
            )
        except OcrFailedError as e:
            return str(e)

        archive_sha256 = await self._blobs.put(result.archive)
        command = CompleteOcr(
            document_id=job.document_id,
            pdf_sha256=upload.pdf_sha256,
            archive_sha256=archive_sha256,
            lang=upload.lang,
            pages=[
                PageText(number=number, text=text)
                for number, text in enumerate(result.pages, start=1)
            ],
            seconds=round(result.seconds, 3),
            worker=self._name,
        )
        await self._send(job, COMPLETE_OCR, command, persist=persist)
        await self._progress(job, "finished", len(result.pages))
        job.log.info(
            "document %s OCR finished: %d pages in %.1f s",
            job.document_id,
            len(result.pages),
            result.seconds,
        )
        return None

    async def _fail(self, job: _Job, reason: str, *, persist: bool) -> None:
        command = FailOcr(
            document_id=job.document_id,
            pdf_sha256=job.upload.pdf_sha256,
            reason=reason[:2000],
            worker=self._name,
        )
        await self._send(job, FAIL_OCR, command, persist=persist)
        await self._progress(job, "failed", 0)

    async def _give_up(self, job: _Job, reason: str) -> bool:
        """Sends FailOcr for a poison upload; tells whether it was accepted."""
        try:
            await self._fail(job, reason, persist=True)
        except CommandRejectedError as e:
            job.log.error("the command API refused FailOcr too, dropping: %s", e)
            return False
        return True

    async def _send(
        self, job: _Job, subject: str, command: BaseModel, *, persist: bool
    ) -> int | None:
        """Sends a command and returns its position; retries forever if ``persist``."""
        payload = command.model_dump_json().encode()
        delay = 1.0
        while True:
            try:
                reply = await self._client.request(
                    subject, payload, timeout=self._command_timeout
                )
                break
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError) as e:
                if not persist:
                    raise CommandNotAnsweredError(
                        f"the command API did not answer {subject}"
                    ) from e
            # On the last delivery a nak would lose the upload, so wait here.
            job.log.warning("the command API did not answer %s; waiting", subject)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)
        try:
            answer = CommandReply.model_validate_json(reply.data)
        except ValidationError as e:
            raise CommandRejectedError(f"unreadable reply to {subject}") from e
        if not answer.ok:
            raise CommandRejectedError(f"{subject} refused: {answer.error}")
        return answer.position

    async def _progress(self, job: _Job, stage: str, page: int) -> None:
        owner_id = job.envelope.owner_id
        if owner_id is None:
            return
        message = OcrProgress.model_validate(
            {
                "document_id": job.document_id,
                "owner_id": owner_id,
                "stage": stage,
                "page": page,
                "pages": job.upload.page_count,
            }
        )
        # Progress is not history: a lost message only delays a progress bar.
        try:
            await self._client.publish(
                progress_subject(owner_id, job.document_id),
                message.model_dump_json().encode(),
            )
        except nats.errors.Error as e:
            job.log.debug("progress not published: %s", e)

    async def _keep_alive(self, msg: Msg) -> None:
        """Tells JetStream the upload is still being worked on, until cancelled."""
        interval = self._settings.ocr_ack_wait_seconds / 3
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(nats.errors.Error):
                await msg.in_progress()
