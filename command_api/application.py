"""The event-sourced application: every command that changes Paperledger."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from command_api.cache import AggregateCache, copy_of
from command_api.domain import (
    Document,
    Folder,
    User,
    idempotent_id,
    user_id_for,
)
from command_api.errors import (
    CommandError,
    ConflictError,
    InvalidCommandError,
    NotFoundError,
)
from command_api.group_commit import GroupCommitter
from infra.auth import hash_token, new_token

A = TypeVar("A", bound=Aggregate)
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
# Without If-Match, a command that lost a race is tried again on fresh state.
ATTEMPTS = 3
SNAPSHOT_INTERVAL = 100


@dataclass(frozen=True)
class Written:
    """What a command left behind: the aggregate's version and last position."""

    id: UUID
    version: int
    position: int
    created: bool = False


class Paperledger(Application[UUID]):
    """Users, folders and documents, stored as events in one notification log.

    With ``cache_size``, up to that many aggregates are kept in memory and
    trusted (see ``command_api.cache``): a command on a cached aggregate reads
    nothing from the store, and one that met stale state is tried again on
    fresh state before it is answered.
    """

    name = "Paperledger"
    # A long history loads from its newest snapshot and the events after it.
    snapshotting_intervals: ClassVar[
        dict[type[MutableOrImmutableAggregate[Any]], int]
    ] = {
        Document: SNAPSHOT_INTERVAL,
        Folder: SNAPSHOT_INTERVAL,
        User: SNAPSHOT_INTERVAL,
    }

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        group_commit: bool = False,
        cache_size: int = 0,
    ) -> None:
        super().__init__(env)
        self.cache = AggregateCache(cache_size)
        self._committer = GroupCommitter(self.save) if group_commit else None

    @property
    def group_commit(self) -> bool:
        """Says whether concurrent commands share transactions."""
        return self._committer is not None

    def close(self) -> None:
        """Finishes the queued saves and closes the event store's connections."""
        if self._committer is not None:
            self._committer.close()
        super().close()

    def commit(self, *aggregates: Aggregate) -> list[Recording[UUID]]:
        """Saves the aggregates' new events, sharing a transaction when it can."""
        if self._committer is None:
            recordings = self.save(*aggregates)
        else:
            recordings = self._committer.save(*aggregates)
            for aggregate_id, version in due_snapshots(recordings):
                self.take_snapshot(aggregate_id, version)
        for aggregate in aggregates:
            self.cache.put(aggregate)
        return recordings

    def submit(self, document: Document) -> Future[list[Recording[UUID]]]:
        """Queues a changed document for the next shared transaction; never blocks.

        Only with group commit. Once the future is done, ``committed`` answers.
        """
        assert self._committer is not None, "submit needs group commit"
        return self._committer.submit(document)

    def committed(
        self, document: Document, recordings: list[Recording[UUID]]
    ) -> Written:
        """Keeps a document whose submitted change was stored; returns the answer."""
        self.cache.put(document)
        return Written(document.id, document.version, recordings[-1].notification.id)

    def register_user(self, name: str) -> Written:
        """Creates a user with a home folder and an inbox folder."""
        if not USER_NAME.match(name):
            raise InvalidCommandError(
                "a user name is 1 to 64 letters, digits or _ . @ -, "
                "starting with a letter or digit"
            )
        user_id = user_id_for(name)
        home = Folder(uuid4(), "Home", None, actor="cli", owner_id=user_id)
        inbox = Folder(uuid4(), "Inbox", None, actor="cli", owner_id=user_id)
        user = User(
            id=user_id,
            name=name,
            home_folder_id=home.id,
            inbox_folder_id=inbox.id,
            actor="cli",
            owner_id=user_id,
        )
        try:
            recordings = self.save(home, inbox, user)
        except IntegrityError:
            raise InvalidCommandError(f"a user called {name!r} exists") from None
        return Written(user.id, user.version, recordings[-1].notification.id, True)

    def issue_token(self, name: str, label: str = "") -> tuple[str, Written]:
        """Returns a new bearer token for the user called ``name``."""
        user = self._load(User, user_id_for(name), "user")
        token = new_token()
        user.issue_token(uuid4(), hash_token(token), label[:200])
        recordings = self.save(user)
        return token, Written(user.id, user.version, recordings[-1].notification.id)

    def user(self, user_id: UUID) -> User:
        """Returns the user with ``user_id``."""
        return self._get(User, user_id, "user")

    def create_folder(
        self, actor: UUID, title: str, parent_id: UUID, key: str | None = None
    ) -> Written:
        """Creates a folder inside one of the actor's folders."""
        self.owned_folder(parent_id, actor)
        folder_id = idempotent_id(actor, "folder", key) if key else uuid4()
        return self._create(
            lambda: Folder(
                id=folder_id,
                title=title,
                parent_id=parent_id,
                actor=str(actor),
                owner_id=actor,
            ),
            folder_id,
        )

    def upload_document(
        self, actor: UUID, key: str | None = None, **fields: Any
    ) -> Written:
        """Records an upload whose files are already in the blob store."""
        self.owned_folder(fields["folder_id"], actor)
        document_id = idempotent_id(actor, "document", key) if key else uuid4()
        return self._create(
            lambda: Document(
                id=document_id, actor=str(actor), owner_id=actor, **fields
            ),
            document_id,
        )

    def change_document(
        self,
        actor: UUID,
        document_id: UUID,
        expected_version: int | None,
        change: str,
        *args: Any,
    ) -> Written:
        """Applies one change (rename, move, tag, untag, trash, restore)."""
        if change == "move":
            self.owned_folder(args[0], actor)

        def apply(document: Document) -> None:
            getattr(document, change)(*args, actor=str(actor))

        return self._change(document_id, actor, expected_version, apply)

    def change_cached(
        self,
        actor: UUID,
        document_id: UUID,
        expected_version: int | None,
        change: str,
        *args: Any,
    ) -> Document | None:
        """Returns the cached document with the change made, if that can be trusted.

        It reads nothing from the store. None means that fresh state must
        answer: nothing is cached, If-Match differs from the cached version,
        the change would change nothing or was refused.
        """
        document = self.cache.get(document_id)
        if not isinstance(document, Document) or document.owner_id != actor:
            return None
        if expected_version is not None and document.version != expected_version:
            return None
        if change == "move" and not self._cached_folder_of(args[0], actor):
            return None
        try:
            getattr(document, change)(*args, actor=str(actor))
        except CommandError:
            return None
        return document if document.pending_events else None

    def complete_ocr(self, document_id: UUID, **result: Any) -> Written:
        """Records an OCR result; a stale or repeated one changes nothing."""
        return self._record_ocr(document_id, "complete_ocr", result)

    def fail_ocr(self, document_id: UUID, pdf_sha256: str, reason: str) -> Written:
        """Records a failed OCR; a stale or repeated one changes nothing."""
        result = {"pdf_sha256": pdf_sha256, "reason": reason}
        return self._record_ocr(document_id, "fail_ocr", result)

    def owned_folder(self, folder_id: UUID, actor: UUID) -> Folder:
        """Returns the actor's folder, or raises as if it did not exist."""
        folder = self._get(Folder, folder_id, "folder")
        if folder.owner_id != actor:
            raise NotFoundError("no folder with that id")
        return folder

    def owned_document(self, document_id: UUID, actor: UUID) -> Document:
        """Returns the actor's document, or raises as if it did not exist."""
        document = self._get(Document, document_id, "document")
        if document.owner_id != actor:
            raise NotFoundError("no document with that id")
        return document

    def _cached_folder_of(self, folder_id: UUID, actor: UUID) -> bool:
        # A folder never changes its owner, so a cached one is as good as fresh.
        folder = self.cache.get(folder_id)
        return isinstance(folder, Folder) and folder.owner_id == actor

    def _record_ocr(
        self, document_id: UUID, method: str, result: dict[str, Any]
    ) -> Written:
        def apply(document: Document) -> None:
            getattr(document, method)(**result)

        return self._change(document_id, None, None, apply)

    def _change(
        self,
        document_id: UUID,
        actor: UUID | None,
        expected_version: int | None,
        apply: Callable[[Document], None],
    ) -> Written:
        """Applies a change to a document and stores it, as one by one would.

        Cached state may be stale, so whatever it cannot decide alone (a
        mismatched If-Match, a change that changes nothing, a refusal, a
        conflict in the store) is decided again on fresh state. Without
        If-Match, a command that lost a race to another writer is tried again.
        """
        fresh = False
        races = 0
        while True:
            document, cached = self._document(document_id, actor, fresh)
            fresh = True
            if expected_version is not None and document.version != expected_version:
                if cached:
                    continue
                raise ConflictError(
                    f"the document is at version {document.version}, "
                    f"not {expected_version}"
                )
            try:
                apply(document)
            except CommandError:
                if cached:
                    continue
                raise
            if cached and not document.pending_events:
                continue
            try:
                return self._write(document)
            except IntegrityError:
                self.cache.forget(document_id)
                if cached:
                    continue
                races += 1
                if expected_version is not None or races == ATTEMPTS:
                    raise ConflictError("the document changed meanwhile") from None

    def _document(
        self, document_id: UUID, actor: UUID | None, fresh: bool
    ) -> tuple[Document, bool]:
        """Returns the document (the actor's, if named) and whether it was cached."""
        if not fresh:
            cached = self.cache.get(document_id)
            if isinstance(cached, Document) and (
                actor is None or cached.owner_id == actor
            ):
                return cached, True
        document = self._load(Document, document_id, "document")
        if actor is not None and document.owner_id != actor:
            raise NotFoundError("no document with that id")
        return document, False

    def _create(self, make: Any, aggregate_id: UUID) -> Written:
        if self._exists(aggregate_id):
            return self._replayed(aggregate_id)
        aggregate = make()
        try:
            recordings = self.commit(aggregate)
        except IntegrityError:
            return self._replayed(aggregate_id)
        position = recordings[-1].notification.id
        return Written(aggregate.id, aggregate.version, position, created=True)

    def _replayed(self, aggregate_id: UUID) -> Written:
        aggregate: Aggregate = self.repository.get(aggregate_id)
        return Written(aggregate.id, aggregate.version, self._position(aggregate.id))

    def _write(self, aggregate: Aggregate) -> Written:
        if not aggregate.pending_events:
            self.cache.put(aggregate)
            return Written(
                aggregate.id, aggregate.version, self._position(aggregate.id)
            )
        recordings = self.commit(aggregate)
        return Written(aggregate.id, aggregate.version, recordings[-1].notification.id)

    def _exists(self, aggregate_id: UUID) -> bool:
        return (
            self.cache.get(aggregate_id) is not None or aggregate_id in self.repository
        )

    def _get(self, kind: type[A], aggregate_id: UUID, what: str) -> A:
        """Returns the aggregate, from the cache if it is there.

        Only for what a stale copy cannot get wrong: an owner, a folder.
        """
        cached = self.cache.get(aggregate_id)
        if isinstance(cached, kind):
            return cached
        return self._load(kind, aggregate_id, what)

    def _load(self, kind: type[A], aggregate_id: UUID, what: str) -> A:
        """Returns the aggregate as the store has it now, and caches it."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFoundError(f"no {what} with that id") from None
        if not isinstance(aggregate, kind):
            raise NotFoundError(f"no {what} with that id")
        self.cache.put(copy_of(aggregate))
        return aggregate

    def _position(self, aggregate_id: UUID) -> int:
        """Returns the position of the aggregate's newest stored event."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        statement = SQL(
            "SELECT max(notification_id) AS position FROM {}.{}"
            " WHERE originator_id = %s"
        ).format(
            Identifier(recorder.datastore.schema),
            Identifier(recorder.events_table_name),
        )
        with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, (aggregate_id,))
            row = cursor.fetchone()
        assert row is not None
        return int(row["position"])


def due_snapshots(recordings: list[Recording[UUID]]) -> list[tuple[UUID, int]]:
    """Returns the aggregate versions these recordings make due for a snapshot.

    Shared transactions save bare events, which the library does not snapshot.
    """
    return [
        (r.domain_event.originator_id, r.domain_event.originator_version)
        for r in recordings
        if r.domain_event.originator_version % SNAPSHOT_INTERVAL == 0
    ]
