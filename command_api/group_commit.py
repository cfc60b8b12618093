"""Group commit: the aggregates of concurrent commands saved in one transaction.

The event store serialises writers with a table lock, so a transaction costs
about the same for one event as for hundreds. Commands that arrive while a
transaction is under way wait for the next one and share it. Each command
keeps its own expected version: when a shared transaction fails on a conflict,
its commands are saved one by one, so only the conflicting one fails.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

logger = logging.getLogger(__name__)

Save = Callable[..., list[Recording[UUID]]]
MAX_BATCH = 512


class _Pending:
    """One command's new events and the future its caller waits on.

    The events are taken from the aggregates once, so that a transaction that
    failed can be tried again with the very same events.
    """

    def __init__(self, aggregates: Sequence[Aggregate]) -> None:
        self.events = [e for a in aggregates for e in a.collect_events()]
        self.ids = {aggregate.id for aggregate in aggregates}
        self.future: Future[list[Recording[UUID]]] = Future()


class GroupCommitter:
    """Saves for many threads at once; each caller gets only its own recordings."""

    def __init__(self, save: Save, max_batch: int = MAX_BATCH) -> None:
        self._save = save
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, name="group-commit", daemon=True
        )
        self._thread.start()

    def save(self, *aggregates: Aggregate) -> list[Recording[UUID]]:
        """Saves the aggregates in the next shared transaction; blocks until done."""
        return self.submit(*aggregates).result()

    def submit(self, *aggregates: Aggregate) -> Future[list[Recording[UUID]]]:
        """Queues the aggregates for the next shared transaction; does not block.

        The aggregates' new events are taken at once; the future holds the
        recordings, or the error that kept them from being stored.
        """
        pending = _Pending(aggregates)
        self._queue.put(pending)
        return pending.future

    def close(self) -> None:
        """Lets the queued saves finish, then stops the committing thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch: list[_Pending] = []
            _take(first, batch)
            stop = self._drain(batch)
            while batch:
                batch = self._commit(batch)
            if stop:
                return

    def _drain(self, batch: list[_Pending]) -> bool:
        """Adds what else is queued to ``batch``; says whether a stop was queued."""
        while len(batch) < self._max_batch:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                return False
            if pending is None:
                return True
            _take(pending, batch)
        return False

    def _commit(self, batch: list[_Pending]) -> list[_Pending]:
        """Commits what can share a transaction; returns what must wait for the next.

        Two commands on one aggregate cannot share a transaction: both expect the
        same version, so the later one waits and meets the earlier one's result.
        """
        now: list[_Pending] = []
        later: list[_Pending] = []
        taken: set[UUID] = set()
        for pending in batch:
            (later if pending.ids & taken else now).append(pending)
            taken |= pending.ids
        if len(now) == 1:
            self._save_alone(now[0])
        else:
            self._save_together(now)
        return later

    def _save_together(self, batch: list[_Pending]) -> None:
        events = [e for pending in batch for e in pending.events]
        try:
            recordings = self._save(*events)
        except IntegrityError:
            logger.debug(
                "a shared transaction of %s conflicted; one by one", len(batch)
            )
            for pending in batch:
                self._save_alone(pending)
            return
        except Exception as e:
            for pending in batch:
                pending.future.set_exception(e)
            return
        for pending in batch:
            pending.future.set_result(
                [r for r in recordings if r.domain_event.originator_id in pending.ids]
            )

    def _save_alone(self, pending: _Pending) -> None:
        try:
            pending.future.set_result(self._save(*pending.events))
        except Exception as e:
            pending.future.set_exception(e)


def _take(pending: _Pending, batch: list[_Pending]) -> None:
    """Adds a save to ``batch`` unless its caller cancelled it while it was queued.

    From here on it can no longer be cancelled, so its caller learns the outcome.
    """
    if pending.future.set_running_or_notify_cancel():
        batch.append(pending)
