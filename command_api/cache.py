"""The aggregates a command API process keeps in memory between commands.

A cached aggregate is trusted without asking the store whether it is current.
Staleness is caught where it matters: new events are stored at the cached
version plus one, and the store refuses a version that another writer took, so
a command on stale state fails with an ``IntegrityError`` and is tried again on
fresh state. Several processes on one store therefore stay correct.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

A = TypeVar("A", bound=Aggregate)
_CONTAINERS = (list, dict, set)


class AggregateCache:
    """A bounded, least-recently-used map of aggregates as they were stored.

    Callers get private copies, so a command can change what it gets without
    touching what other commands see. It is safe to use from several threads.
    """

    def __init__(self, max_size: int) -> None:
        self._max_size = max_size
        self._aggregates: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, aggregate_id: UUID) -> Aggregate | None:
        """Returns a copy of the cached aggregate, or None if it is not cached."""
        with self._lock:
            aggregate = self._aggregates.get(aggregate_id)
            if aggregate is None:
                return None
            self._aggregates.move_to_end(aggregate_id)
        return copy_of(aggregate)

    def put(self, aggregate: Aggregate) -> None:
        """Keeps a stored aggregate, unless a newer version of it is kept already.

        The caller hands the aggregate over and must not change it afterwards.
        """
        if not self._max_size or aggregate.pending_events:
            return
        with self._lock:
            kept = self._aggregates.get(aggregate.id)
            if kept is not None and kept.version > aggregate.version:
                return
            self._aggregates[aggregate.id] = aggregate
            self._aggregates.move_to_end(aggregate.id)
            if len(self._aggregates) > self._max_size:
                self._aggregates.popitem(last=False)

    def forget(self, aggregate_id: UUID) -> None:
        """Drops an aggregate whose cached state turned out to be stale."""
        with self._lock:
            self._aggregates.pop(aggregate_id, None)

    def __len__(self) -> int:
        return len(self._aggregates)


def copy_of(aggregate: A) -> A:
    """Returns a copy whose lists, dicts and sets are its own.

    Aggregates here keep only immutable values (strings, ids, numbers, times)
    inside their containers, so copying the containers suffices; a nested
    container is copied in full.
    """
    copy = object.__new__(type(aggregate))
    vars(copy).update({name: _own(value) for name, value in vars(aggregate).items()})
    return copy


def _own(value: Any) -> Any:
    if not isinstance(value, _CONTAINERS):
        return value
    if isinstance(value, dict):
        return {key: _own(item) for key, item in value.items()}
    return type(value)([_own(item) for item in value])
