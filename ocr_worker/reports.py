"""What a worker tells the others: outcomes as commands, progress as plain messages."""

from __future__ import annotations

import asyncio

import nats.errors
from nats.aio.client import Client
from pydantic import BaseModel, ValidationError

from ocr_worker.errors import CommandNotAnsweredError, CommandRejectedError
from ocr_worker.ocr import OcrResult
from ocr_worker.uploads import Upload
from schemas.commands import CommandReply, CompleteOcr, FailOcr, OcrProgress
from schemas.events import PageText
from schemas.subjects import COMPLETE_OCR, FAIL_OCR, progress_subject

MAX_WAIT_SECONDS = 60.0


class Reporter:
    """Sends OCR outcomes to the command API and progress to whoever listens."""

    def __init__(self, client: Client, worker: str, command_timeout: float) -> None:
        self._client = client
        self._worker = worker
        self._command_timeout = command_timeout

    async def complete(
        self, upload: Upload, result: OcrResult, archive_sha256: str, *, persist: bool
    ) -> None:
        """Sends CompleteOcr with the text of every page."""
        command = CompleteOcr(
            document_id=upload.document_id,
            pdf_sha256=upload.data.pdf_sha256,
            archive_sha256=archive_sha256,
            lang=upload.data.lang,
            pages=[
                PageText(number=number, text=text)
                for number, text in enumerate(result.pages, start=1)
            ],
            seconds=round(result.seconds, 3),
            worker=self._worker,
        )
        await self._send(upload, COMPLETE_OCR, command, persist=persist)
        await self.progress(upload, "finished", len(result.pages))

    async def fail(self, upload: Upload, reason: str, *, persist: bool) -> None:
        """Sends FailOcr with a reason a person can read."""
        command = FailOcr(
            document_id=upload.document_id,
            pdf_sha256=upload.data.pdf_sha256,
            reason=reason[:2000],
            worker=self._worker,
        )
        await self._send(upload, FAIL_OCR, command, persist=persist)
        await self.progress(upload, "failed", 0)

    async def progress(self, upload: Upload, stage: str, page: int) -> None:
        """Publishes one step of OCR; a message that is lost only delays a bar."""
        owner_id = upload.envelope.owner_id
        if owner_id is None:
            return
        message = OcrProgress.model_validate(
            {
                "document_id": upload.document_id,
                "owner_id": owner_id,
                "stage": stage,
                "page": page,
                "pages": upload.data.page_count,
            }
        )
        try:
            await self._client.publish(
                progress_subject(owner_id, upload.document_id),
                message.model_dump_json().encode(),
            )
        except nats.errors.Error as e:
            upload.log.debug("progress not published: %s", e)

    async def _send(
        self, upload: Upload, subject: str, command: BaseModel, *, persist: bool
    ) -> None:
        """Sends a command; if ``persist``, waits as long as it takes for an answer."""
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
            upload.log.warning("the command API did not answer %s; waiting", subject)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_WAIT_SECONDS)
        try:
            answer = CommandReply.model_validate_json(reply.data)
        except ValidationError as e:
            raise CommandRejectedError(f"unreadable reply to {subject}") from e
        if not answer.ok:
            raise CommandRejectedError(f"{subject} refused: {answer.error}")
