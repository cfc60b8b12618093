"""Group commit keeps every guarantee of committing commands one by one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from eventsourcing.persistence import IntegrityError, Recording

from command_api.application import Paperledger, Written
from command_api.domain import Document
from command_api.group_commit import GroupCommitter
from infra.embedded import free_port
from infra.postgres import create_read_models, eventsourcing_env
from infra.settings import Settings
from tests.command_api.conftest import register


class GatedSave:
    """The application's save, held at a gate so that commands pile up behind it."""

    def __init__(self, ledger: Paperledger) -> None:
        self.ledger = ledger
        self.gate = threading.Event()
        self.batches: list[int] = []

    def __call__(self, *events: Any) -> list[Recording[UUID]]:
        self.gate.wait(10)
        self.batches.append(len(events))
        return self.ledger.save(*events)


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Paperledger]:
    assert settings.database_url
    ledger = Paperledger(env=eventsourcing_env(settings.database_url))
    yield ledger
    ledger.close()


def _upload(ledger: Paperledger, owner: UUID, folder: UUID, title: str) -> Written:
    """Uploads a one-page PDF document through the application."""
    return ledger.upload_document(
        owner,
        title=title,
        folder_id=folder,
        lang="eng",
        original={
            "sha256": "a" * 64,
            "filename": "d.pdf",
            "content_type": "application/pdf",
            "size": 1,
        },
        pdf_sha256="a" * 64,
        page_count=1,
    )


def _document(ledger: Paperledger) -> Document:
    document = Document(
        uuid4(),
        title="Scan",
        folder_id=uuid4(),
        lang="eng",
        original={
            "sha256": "a" * 64,
            "filename": "s.pdf",
            "content_type": "application/pdf",
            "size": 1,
        },
        pdf_sha256="a" * 64,
        page_count=1,
        actor="test",
        owner_id=uuid4(),
    )
    ledger.save(document)
    return document


def _tagged(ledger: Paperledger, document_id: UUID, tag: str) -> Document:
    document: Document = ledger.repository.get(document_id)
    document.tag(tag, actor="test")
    return document


def _submit_all(
    ledger: Paperledger, aggregates: list[Document]
) -> tuple[list[Any], list[int]]:
    """Saves the aggregates from racing threads, queued behind one held save.

    Returns each save's recordings or error, and the size of every transaction.
    """
    gated = GatedSave(ledger)
    committer = GroupCommitter(gated)
    plug = _tagged(ledger, _document(ledger).id, "plug")
    with ThreadPoolExecutor(len(aggregates) + 1) as pool:
        held = pool.submit(committer.save, plug)
        time.sleep(0.2)  # the plug is now held at the gate
        futures = [pool.submit(committer.save, a) for a in aggregates]
        time.sleep(0.3)  # and every other save is queued behind it
        gated.gate.set()
        held.result(10)
        outcomes = [_outcome(f) for f in futures]
    committer.close()
    return outcomes, gated.batches[1:]


def _outcome(future: Any) -> Any:
    try:
        return future.result(10)
    except Exception as e:
        return e


def test_concurrent_commands_share_a_transaction_and_each_gets_its_own_result(
    ledger: Paperledger,
) -> None:
    documents = [_document(ledger) for _ in range(6)]
    changed = [_tagged(ledger, d.id, "tax") for d in documents]

    outcomes, batches = _submit_all(ledger, changed)

    assert batches == [6]
    for document, recordings in zip(changed, outcomes, strict=True):
        assert [r.domain_event.originator_id for r in recordings] == [document.id]
    positions = [r[0].notification.id for r in outcomes]
    assert len(set(positions)) == len(positions)


def test_a_conflicting_command_fails_alone_and_the_rest_are_saved(
    ledger: Paperledger,
) -> None:
    documents = [_document(ledger) for _ in range(4)]
    stale = _tagged(ledger, documents[0].id, "stale")
    ledger.save(_tagged(ledger, documents[0].id, "winner"))
    good = [_tagged(ledger, d.id, "tax") for d in documents[1:]]

    outcomes, batches = _submit_all(ledger, [stale, *good])

    assert batches[0] == 4
    assert isinstance(outcomes[0], IntegrityError)
    assert all(isinstance(o, list) and len(o) == 1 for o in outcomes[1:])
    assert ledger.repository.get(documents[0].id).tags == ["winner"]
    assert all(ledger.repository.get(d.id).tags == ["tax"] for d in documents[1:])


def test_two_commands_on_one_document_in_a_batch_conflict_like_one_by_one(
    ledger: Paperledger,
) -> None:
    document = _document(ledger)
    first = _tagged(ledger, document.id, "a")
    second = _tagged(ledger, document.id, "b")

    outcomes, _ = _submit_all(ledger, [first, second])

    assert sum(isinstance(o, IntegrityError) for o in outcomes) == 1
    assert len(ledger.repository.get(document.id).tags) == 1


def test_a_failed_transaction_stores_nothing_and_fails_every_command_in_it(
    ledger: Paperledger,
) -> None:
    documents = [_document(ledger) for _ in range(3)]

    def crash(*_: Any) -> list[Recording[UUID]]:
        raise ConnectionError("the database went away mid-transaction")

    committer = GroupCommitter(crash)
    changed = [_tagged(ledger, d.id, "lost") for d in documents]

    with ThreadPoolExecutor(3) as pool:
        outcomes = [
            _outcome(f) for f in [pool.submit(committer.save, c) for c in changed]
        ]
    committer.close()

    assert all(isinstance(o, ConnectionError) for o in outcomes)
    assert all(ledger.repository.get(d.id).version == 1 for d in documents)


def test_the_application_answers_every_racing_command_as_one_by_one_would(
    settings: Settings,
) -> None:
    assert settings.database_url
    ledger = Paperledger(
        env=eventsourcing_env(settings.database_url), group_commit=True
    )
    owner = ledger.register_user("racer")
    inbox = ledger.user(owner.id).inbox_folder_id
    upload = _upload(ledger, owner.id, inbox, "Doc")

    def tag(n: int) -> Any:
        try:
            return ledger.change_document(owner.id, upload.id, None, "tag", f"t{n}")
        except Exception as e:
            return e

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(tag, range(48)))
    ledger.close()

    answered = [o for o in outcomes if not isinstance(o, Exception)]
    reread = Paperledger(env=eventsourcing_env(settings.database_url))
    document = reread.repository.get(upload.id)
    reread.close()
    assert len(document.tags) == len(answered)
    assert len({w.version for w in answered}) == len(answered)


def test_a_command_api_killed_mid_batch_keeps_every_answered_write_and_no_half(
    settings: Settings, ledger: Paperledger
) -> None:
    assert settings.database_url
    assert settings.nats_url
    create_read_models(settings.database_url)
    account = register(ledger, settings.database_url, "crash")
    inbox = account.inbox_folder_id
    ids = [_upload(ledger, account.id, inbox, f"Doc {n}").id for n in range(8)]
    port = free_port()
    env = {
        **os.environ,
        "PAPERLEDGER_DATABASE_URL": settings.database_url,
        "PAPERLEDGER_NATS_URL": settings.nats_url,
        "PAPERLEDGER_COMMAND_API_PORT": str(port),
    }
    server = subprocess.Popen([sys.executable, "-m", "command_api"], env=env)
    base = f"http://127.0.0.1:{port}"
    _wait_until_up(base)
    answered: list[tuple[UUID, str]] = []
    stop = threading.Event()

    def client(document_id: UUID) -> None:
        with httpx.Client(base_url=base, headers=account.headers, timeout=5) as http:
            for n in range(10_000):
                if stop.is_set():
                    return
                tag = f"t{n}"
                try:
                    answer = http.post(
                        f"/api/documents/{document_id}/tags", json={"tag": tag}
                    )
                except httpx.HTTPError:
                    return
                if answer.status_code == 200:
                    answered.append((document_id, tag))

    threads = [
        threading.Thread(target=client, args=(i,)) for i in ids for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(answered) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.send_signal(signal.SIGKILL)
    server.wait()
    stop.set()
    for thread in threads:
        thread.join()

    assert answered
    stored = {i: ledger.repository.get(i) for i in ids}
    for document_id, tag in answered:
        assert tag in stored[document_id].tags
    for document in stored.values():
        assert document.version == 1 + len(document.tags)


def _wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the command API did not start")


def test_a_long_history_is_snapshotted_and_loads_the_same(settings: Settings) -> None:
    assert settings.database_url
    ledger = Paperledger(
        env=eventsourcing_env(settings.database_url), group_commit=True
    )
    owner = ledger.register_user("long")
    upload = _upload(ledger, owner.id, ledger.user(owner.id).inbox_folder_id, "Doc")

    for n in range(250):
        ledger.change_document(owner.id, upload.id, None, "tag", f"t{n}")

    assert ledger.snapshots is not None
    snapshots = list(ledger.snapshots.get(upload.id, desc=True, limit=1))
    assert snapshots[0].originator_version == 200
    document = ledger.repository.get(upload.id)
    ledger.close()
    assert (document.version, len(document.tags)) == (251, 250)
