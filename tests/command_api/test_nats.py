"""OCR results arriving as commands over NATS."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from fastapi.testclient import TestClient

from command_api.application import Paperledger
from command_api.envelopes import read_log
from infra.nats import connect
from infra.settings import Settings
from schemas.commands import CommandReply, CompleteOcr, FailOcr
from schemas.events import PageText
from schemas.subjects import COMPLETE_OCR, FAIL_OCR
from tests.command_api.conftest import Account
from tests.scans import image_only_pdf


def _send(settings: Settings, subject: str, body: bytes) -> CommandReply:
    async def request() -> CommandReply:
        assert settings.nats_url
        client = await connect(settings.nats_url, "test")
        try:
            reply = await client.request(subject, body, timeout=10)
        finally:
            await client.close()
        return CommandReply.model_validate_json(reply.data)

    return asyncio.run(request())


def _uploaded(client: TestClient, account: Account, ledger: Paperledger) -> tuple:  # type: ignore[type-arg]
    response = client.post(
        "/api/documents",
        headers=account.headers,
        files={"file": ("s.pdf", image_only_pdf([["words"]]))},
    )
    document_id = response.json()["id"]
    upload = [e for e in read_log(ledger) if e.type == "Document.Uploaded"][-1]
    return document_id, upload.data["pdf_sha256"]


def _complete(document_id: str, pdf_sha256: str) -> bytes:
    return (
        CompleteOcr(
            document_id=document_id,
            pdf_sha256=pdf_sha256,
            archive_sha256="b" * 64,
            lang="eng",
            pages=[PageText(number=1, text="words")],
            seconds=1.5,
            worker="test",
        )
        .model_dump_json()
        .encode()
    )


def test_an_ocr_result_is_recorded_once_however_often_it_arrives(
    client: TestClient, alice: Account, ledger: Paperledger, settings: Settings
) -> None:
    document_id, pdf = _uploaded(client, alice, ledger)

    first = _send(settings, COMPLETE_OCR, _complete(document_id, pdf))
    again = _send(settings, COMPLETE_OCR, _complete(document_id, pdf))

    assert first.ok
    assert again.ok
    assert first.position == again.position
    types = [e.type for e in read_log(ledger)]
    assert types.count("Document.OcrCompleted") == 1


def test_a_result_for_another_pdf_is_stale_and_ignored(
    client: TestClient, alice: Account, ledger: Paperledger, settings: Settings
) -> None:
    document_id, _ = _uploaded(client, alice, ledger)

    reply = _send(settings, COMPLETE_OCR, _complete(document_id, "f" * 64))

    assert reply.ok
    assert "Document.OcrCompleted" not in [e.type for e in read_log(ledger)]


def test_a_failure_is_recorded_with_its_reason(
    client: TestClient, alice: Account, ledger: Paperledger, settings: Settings
) -> None:
    document_id, pdf = _uploaded(client, alice, ledger)
    command = FailOcr(
        document_id=document_id, pdf_sha256=pdf, reason="OCR timed out", worker="t"
    )

    reply = _send(settings, FAIL_OCR, command.model_dump_json().encode())

    assert reply.ok
    failed = [e for e in read_log(ledger) if e.type == "Document.OcrFailed"]
    assert failed[0].data["reason"] == "OCR timed out"


def test_malformed_or_unknown_commands_are_refused_and_change_nothing(
    client: TestClient, alice: Account, ledger: Paperledger, settings: Settings
) -> None:
    before = list(read_log(ledger))

    garbage = _send(settings, COMPLETE_OCR, b"\x00{not json")
    unknown = _send(settings, COMPLETE_OCR, _complete(str(uuid4()), "a" * 64))
    huge = _send(settings, FAIL_OCR, b'{"reason": "' + b"x" * 100_000 + b'"}')

    assert not garbage.ok
    assert not unknown.ok
    assert not huge.ok
    assert unknown.error == "no document with that id"
    assert list(read_log(ledger)) == before
