"""One live subscription per process, handing each event to its owner's sockets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from pydantic import ValidationError

from notifier.frames import event_frame, progress_frame
from notifier.outbox import Outbox
from schemas.commands import OcrProgress
from schemas.events import EventEnvelope
from schemas.subjects import (
    ALL_EVENTS,
    EVENTS_STREAM,
    progress_subject,
    progress_subjects_of,
)

logger = logging.getLogger(__name__)


class Fanout:
    """Receives every event once and OCR progress once per connected owner."""

    def __init__(self, nc: Client, js: JetStreamContext, outbox_limit: int) -> None:
        self._nc = nc
        self._js = js
        self._outbox_limit = outbox_limit
        self._outboxes: dict[UUID, set[Outbox]] = {}
        self._progress: dict[UUID, Subscription] = {}
        # Attaching and detaching await NATS; the lock keeps the two maps in step.
        self._lock = asyncio.Lock()
        self._events: Subscription | None = None

    @property
    def connections(self) -> int:
        """Returns how many sockets are attached."""
        return sum(len(outboxes) for outboxes in self._outboxes.values())

    async def start(self) -> None:
        """Subscribes to every event stored from now on, in stream order."""
        self._events = await self._js.subscribe(
            ALL_EVENTS,
            stream=EVENTS_STREAM,
            cb=self._on_event,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
        )

    async def stop(self) -> None:
        """Ends every subscription; attached outboxes receive nothing more."""
        subscriptions = [self._events, *self._progress.values()]
        self._events = None
        self._progress.clear()
        for subscription in subscriptions:
            if subscription is not None:
                with contextlib.suppress(NatsError):
                    await subscription.unsubscribe()

    async def attach(self, owner_id: UUID) -> Outbox:
        """Returns a new outbox that receives the owner's events from now on."""
        outbox = Outbox(owner_id, self._outbox_limit)
        async with self._lock:
            if owner_id not in self._progress:
                self._progress[owner_id] = await self._nc.subscribe(
                    progress_subjects_of(owner_id), cb=self._on_progress
                )
                # Once the server has the subscription, no progress after the
                # handshake is missed.
                await self._nc.flush()
            self._outboxes.setdefault(owner_id, set()).add(outbox)
        return outbox

    async def detach(self, outbox: Outbox) -> None:
        """Stops filling an outbox; the owner's last one also ends its progress."""
        async with self._lock:
            outboxes = self._outboxes.get(outbox.owner_id, set())
            outboxes.discard(outbox)
            if outboxes:
                return
            self._outboxes.pop(outbox.owner_id, None)
            subscription = self._progress.pop(outbox.owner_id, None)
            if subscription is not None:
                with contextlib.suppress(NatsError):
                    await subscription.unsubscribe()

    async def _on_event(self, msg: Msg) -> None:
        try:
            envelope = EventEnvelope.model_validate_json(msg.data)
        except ValidationError:
            logger.warning(
                "dropped a malformed event on %s at stream sequence %s",
                msg.subject,
                msg.metadata.sequence.stream,
            )
            return
        outboxes = self._outboxes.get(envelope.owner_id) if envelope.owner_id else None
        if not outboxes:
            return
        frame = event_frame(envelope)
        for outbox in outboxes:
            outbox.offer(frame)

    async def _on_progress(self, msg: Msg) -> None:
        try:
            progress = OcrProgress.model_validate_json(msg.data)
        except ValidationError:
            logger.warning("dropped invalid OCR progress on %s", msg.subject)
            return
        if msg.subject != progress_subject(progress.owner_id, progress.document_id):
            logger.warning("dropped OCR progress sent on a foreign %s", msg.subject)
            return
        frame = progress_frame(progress)
        for outbox in self._outboxes.get(progress.owner_id, ()):
            outbox.offer(frame)
