from __future__ import annotations

import asyncio
import io
import json

import pikepdf
import pytest
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig

from infra.blobs import BlobStore, sha256_of
from infra.settings import Settings
from schemas.commands import CommandReply, CompleteOcr, FailOcr
from schemas.subjects import (
    COMPLETE_OCR,
    DOCUMENT_UPLOADED,
    EVENTS_STREAM,
    FAIL_OCR,
    OCR_CONSUMER,
)
from tests.ocr_worker.bus import (
    command_desk,
    progress_log,
    publish_upload,
    running_worker,
)
from tests.scans import image_only_pdf

ONE_PAGE = image_only_pdf([["Walrus harbour"]])


async def settled(client: Client) -> tuple[int, int]:
    """Waits until the OCR consumer has nothing in flight.

    Returns how many deliveries it made and how many messages it delivered.
    """
    js = client.jetstream()
    for _ in range(50):
        info = await js.consumer_info(EVENTS_STREAM, OCR_CONSUMER)
        if info.num_ack_pending == 0 and info.num_pending == 0:
            return info.delivered.consumer_seq, info.delivered.stream_seq
        await asyncio.sleep(0.1)
    raise AssertionError(f"the consumer never settled: {info}")


def encrypted(pdf: bytes) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        document.save(out, encryption=pikepdf.Encryption(owner="o", user="u"))
    return out.getvalue()


async def test_an_upload_is_ocred_and_completed_with_its_page_texts(
    client: Client, worker_settings: Settings
) -> None:
    js = client.jetstream()
    pdf = image_only_pdf([["Walrus harbour"], ["Zebra crossing"]])
    pdf_sha256 = await BlobStore(js).put(pdf)

    async with (
        command_desk(client) as desk,
        progress_log(client) as progress,
        running_worker(worker_settings, "worker-a"),
    ):
        document_id = await publish_upload(js, pdf_sha256, position=1, page_count=2)
        subject, body = await desk.next()
        stages = await progress.until_ended()
        deliveries, messages = await settled(client)

    command = CompleteOcr.model_validate_json(body)
    assert subject == COMPLETE_OCR
    assert command.document_id == document_id
    assert command.pdf_sha256 == pdf_sha256
    assert command.lang == "eng"
    assert command.worker == "worker-a"
    assert [page.number for page in command.pages] == [1, 2]
    assert "Walrus" in command.pages[0].text
    assert "Zebra" in command.pages[1].text
    assert await BlobStore(js).exists(command.archive_sha256)
    assert stages == [
        ("started", 0, 2),
        ("page", 1, 2),
        ("page", 2, 2),
        ("finished", 2, 2),
    ]
    assert deliveries == messages


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        (b"%PDF-1.4 torn in half", "damaged or is not a PDF"),
        (encrypted(ONE_PAGE), "encrypted"),
        (None, "missing from the blob store"),
    ],
    ids=["corrupt", "encrypted", "missing"],
)
async def test_a_pdf_that_cannot_be_ocred_ends_in_failed_ocr_with_a_reason(
    client: Client, worker_settings: Settings, stored: bytes | None, reason: str
) -> None:
    js = client.jetstream()
    pdf_sha256 = await BlobStore(js).put(stored) if stored else sha256_of(b"gone")

    async with (
        command_desk(client) as desk,
        progress_log(client) as progress,
        running_worker(worker_settings, "worker-a"),
    ):
        document_id = await publish_upload(js, pdf_sha256, position=1)
        subject, body = await desk.next()
        stages = await progress.until_ended()
        deliveries, messages = await settled(client)

    command = FailOcr.model_validate_json(body)
    assert subject == FAIL_OCR
    assert command.document_id == document_id
    assert command.pdf_sha256 == pdf_sha256
    assert reason in command.reason
    assert stages[-1] == ("failed", 0, 1)
    assert deliveries == messages


async def test_an_unanswered_command_puts_the_upload_back_instead_of_failing_it(
    client: Client, worker_settings: Settings
) -> None:
    js = client.jetstream()
    pdf_sha256 = await BlobStore(js).put(ONE_PAGE)

    def silent_once(subject: str, count: int) -> CommandReply | None:
        return CommandReply(ok=True, position=1) if count > 1 else None

    async with (
        command_desk(client, silent_once) as desk,
        running_worker(worker_settings, "worker-a", command_timeout=0.5),
    ):
        await publish_upload(js, pdf_sha256, position=1)
        first = await desk.next()
        second = await desk.next()
        deliveries, messages = await settled(client)

    assert [first[0], second[0]] == [COMPLETE_OCR, COMPLETE_OCR]
    assert desk.counts[FAIL_OCR] == 0
    assert (deliveries, messages) == (2, 1)


async def test_an_upload_that_keeps_failing_ends_in_failed_ocr_at_the_last_delivery(
    client: Client, worker_settings: Settings
) -> None:
    js = client.jetstream()
    pdf_sha256 = await BlobStore(js).put(ONE_PAGE)

    def refuse_completion(subject: str, count: int) -> CommandReply:
        if subject == COMPLETE_OCR:
            return CommandReply(ok=False, error="the store is broken")
        return CommandReply(ok=True, position=count)

    async with (
        command_desk(client, refuse_completion) as desk,
        running_worker(worker_settings, "worker-a"),
    ):
        await publish_upload(js, pdf_sha256, position=1)
        sent = [await desk.next() for _ in range(3)]
        await settled(client)

    assert [subject for subject, _ in sent] == [COMPLETE_OCR, COMPLETE_OCR, FAIL_OCR]
    reason = FailOcr.model_validate_json(sent[2][1]).reason
    assert "OCR failed 2 times" in reason
    assert "the store is broken" in reason


async def test_a_malformed_message_is_dropped_and_the_next_upload_still_handled(
    client: Client, worker_settings: Settings
) -> None:
    js = client.jetstream()
    renamed = {"type": "Document.Renamed"}

    async with (
        command_desk(client) as desk,
        running_worker(worker_settings, "worker-a"),
    ):
        await js.publish(DOCUMENT_UPLOADED, b"{not json")
        await js.publish(DOCUMENT_UPLOADED, json.dumps(renamed).encode())
        await publish_upload(js, sha256_of(b"gone"), position=3)
        subject, _ = await desk.next()
        deliveries, messages = await settled(client)

    assert subject == FAIL_OCR
    assert desk.counts.total() == 1
    assert (deliveries, messages) == (3, 3)


async def test_two_workers_share_the_uploads(
    client: Client, worker_settings: Settings
) -> None:
    js = client.jetstream()
    pdf_sha256 = await BlobStore(js).put(ONE_PAGE)

    async with (
        command_desk(client) as desk,
        running_worker(worker_settings, "worker-a"),
        running_worker(worker_settings, "worker-b"),
    ):
        await asyncio.sleep(0.2)
        await publish_upload(js, pdf_sha256, position=1)
        await publish_upload(js, pdf_sha256, position=2)
        sent = [await desk.next() for _ in range(2)]
        await settled(client)

    workers = {CompleteOcr.model_validate_json(body).worker for _, body in sent}
    assert workers == {"worker-a", "worker-b"}


async def test_an_upload_whose_last_worker_died_ends_in_failed_ocr(
    client: Client, worker_settings: Settings
) -> None:
    js = client.jetstream()
    config = ConsumerConfig(
        durable_name=OCR_CONSUMER,
        ack_policy=AckPolicy.EXPLICIT,
        max_deliver=1,
        ack_wait=1.5,
    )
    dying = await js.pull_subscribe(
        DOCUMENT_UPLOADED, durable=OCR_CONSUMER, stream=EVENTS_STREAM, config=config
    )

    document_id = await publish_upload(js, sha256_of(ONE_PAGE), position=1)
    await dying.fetch(1, timeout=5)

    async with (
        command_desk(client) as desk,
        running_worker(worker_settings, "worker-a"),
    ):
        subject, body = await desk.next()

    command = FailOcr.model_validate_json(body)
    assert subject == FAIL_OCR
    assert command.document_id == document_id
    assert "did not finish in 1 attempts" in command.reason
