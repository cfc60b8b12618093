"""Runs document changes for the event loop, on it when no store read is needed.

A change to a cached document needs the store only to commit, so it is made on
the event loop and waits for the group committer without occupying a thread.
Everything else (nothing cached, fresh state needed, group commit off) runs the
application's own method in a worker thread, as the store's client is blocking.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import anyio
from eventsourcing.persistence import IntegrityError

from command_api.application import Paperledger, Written, due_snapshots


async def change_document(
    ledger: Paperledger,
    actor: UUID,
    document_id: UUID,
    expected_version: int | None,
    change: str,
    *args: Any,
) -> Written:
    """Applies one change to a document, as ``Paperledger.change_document`` does."""
    if ledger.group_commit:
        document = ledger.change_cached(
            actor, document_id, expected_version, change, *args
        )
        if document is not None:
            try:
                recordings = await asyncio.wrap_future(ledger.submit(document))
            except IntegrityError:
                # Another writer got there first; fresh state decides below.
                ledger.cache.forget(document_id)
            else:
                for aggregate_id, version in due_snapshots(recordings):
                    await anyio.to_thread.run_sync(
                        ledger.take_snapshot, aggregate_id, version
                    )
                return ledger.committed(document, recordings)
    written: Written = await anyio.to_thread.run_sync(
        lambda: ledger.change_document(
            actor, document_id, expected_version, change, *args
        )
    )
    return written
