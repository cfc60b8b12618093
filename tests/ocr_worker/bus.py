"""What the OCR worker meets on the bus: uploads in, a stand-in command API out."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from infra.nats import connect
from infra.settings import Settings
from ocr_worker.consumer import OcrWorker
from schemas.commands import CommandReply, OcrProgress
from schemas.events import DocumentUploaded, EventEnvelope, OriginalFile
from schemas.subjects import COMMANDS_PREFIX, DOCUMENT_UPLOADED, PROGRESS_PREFIX

OWNER = uuid.UUID("00000000-0000-4000-8000-000000000001")
WAIT = 30.0

Answer = Callable[[str, int], CommandReply | None]


def accept(subject: str, count: int) -> CommandReply | None:
    """Answers every command as the command API does when it stores it."""
    return CommandReply(ok=True, position=count)


async def publish_upload(
    js: JetStreamContext,
    pdf_sha256: str,
    *,
    position: int,
    page_count: int = 1,
    lang: str = "eng",
) -> uuid.UUID:
    """Publishes a Document.Uploaded envelope as the relay does; returns its id."""
    document_id = uuid.uuid4()
    data = DocumentUploaded(
        title="Scan",
        folder_id=uuid.uuid4(),
        lang=lang,
        original=OriginalFile(
            sha256=pdf_sha256,
            filename="scan.pdf",
            content_type="application/pdf",
            size=1,
        ),
        pdf_sha256=pdf_sha256,
        page_count=page_count,
    )
    envelope = EventEnvelope(
        position=position,
        type="Document.Uploaded",
        schema_version=1,
        aggregate_id=document_id,
        version=1,
        timestamp=datetime.now(UTC),
        actor=str(OWNER),
        owner_id=OWNER,
        data=data.model_dump(mode="json"),
    )
    await js.publish(
        DOCUMENT_UPLOADED,
        envelope.model_dump_json().encode(),
        headers={"Nats-Msg-Id": str(position)},
    )
    return document_id


class CommandDesk:
    """Answers commands in place of the command API and keeps what it was sent."""

    def __init__(self, answer: Answer = accept) -> None:
        self.answer = answer
        self.counts: Counter[str] = Counter()
        self.received: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    async def on_request(self, msg: Msg) -> None:
        self.counts[msg.subject] += 1
        reply = self.answer(msg.subject, self.counts[msg.subject])
        if reply is not None:
            await msg.respond(reply.model_dump_json().encode())
        await self.received.put((msg.subject, msg.data))

    async def next(self) -> tuple[str, bytes]:
        return await asyncio.wait_for(self.received.get(), WAIT)


class ProgressLog:
    """Collects OCR progress messages of every document."""

    def __init__(self) -> None:
        self.messages: list[OcrProgress] = []
        self.seen: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    async def on_message(self, msg: Msg) -> None:
        progress = OcrProgress.model_validate_json(msg.data)
        self.messages.append(progress)
        self.seen[progress.stage].set()
        if progress.stage in ("finished", "failed"):
            self.seen["ended"].set()

    async def until(self, stage: str) -> None:
        await asyncio.wait_for(self.seen[stage].wait(), WAIT)

    async def until_ended(self) -> list[tuple[str, int, int]]:
        await self.until("ended")
        return [(p.stage, p.page, p.pages) for p in self.messages]


@asynccontextmanager
async def command_desk(
    client: Client, answer: Answer = accept
) -> AsyncIterator[CommandDesk]:
    desk = CommandDesk(answer)
    subscription = await client.subscribe(f"{COMMANDS_PREFIX}.>", cb=desk.on_request)
    try:
        yield desk
    finally:
        await subscription.unsubscribe()


@asynccontextmanager
async def progress_log(client: Client) -> AsyncIterator[ProgressLog]:
    log = ProgressLog()
    subscription = await client.subscribe(f"{PROGRESS_PREFIX}.>", cb=log.on_message)
    try:
        yield log
    finally:
        await subscription.unsubscribe()


@asynccontextmanager
async def running_worker(
    settings: Settings, name: str, command_timeout: float = 5.0
) -> AsyncIterator[None]:
    """Runs an OCR worker in this process, on its own connection."""
    assert settings.nats_url is not None
    client = await connect(settings.nats_url, name)
    worker = OcrWorker(client, settings, name=name, command_timeout=command_timeout)
    task = asyncio.create_task(worker.run())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await client.close()
