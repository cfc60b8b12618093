"""One live subscription per process, handing each event to its owner's sockets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
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

# Events the client holds for the fan-out before it drops the next ones.
PENDING_BYTES = 64 * 1024 * 1024
# How long events may not come, while the stream holds newer ones, before the
# fan-out subscribes again.
STALL_SECONDS = 2.0


class Fanout:
    """Receives every event once and OCR progress once per connected owner.

    The client drops events that arrive while ``pending_bytes`` of them wait,
    and its ordered consumer does not notice, and may then stall. So the fan-out
    checks that stream sequences follow one another, and every ``stall_seconds``
    that it moved on if the stream holds newer events; at a gap or a stall it
    subscribes again from the first event missing, and ignores what the old
    subscription still hands over.
    """

    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        outbox_limit: int,
        pending_bytes: int = PENDING_BYTES,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        self._nc = nc
        self._js = js
        self._outbox_limit = outbox_limit
        self._pending_bytes = pending_bytes
        self._outboxes: dict[UUID, set[Outbox]] = {}
        self._progress: dict[UUID, Subscription] = {}
        # Attaching and detaching await NATS; the lock keeps the two maps in step.
        self._lock = asyncio.Lock()
        self._events: Subscription | None = None
        # Each subscription to the events has its number; the stream sequence the
        # next event must have (None: any, for a new subscription).
        self._generation = 0
        self._expected: int | None = None
        self._resuming: asyncio.Task[None] | None = None
        self._stall_seconds = stall_seconds
        self._watching: asyncio.Task[None] | None = None

    @property
    def connections(self) -> int:
        """Returns how many sockets are attached."""
        return sum(len(outboxes) for outboxes in self._outboxes.values())

    async def start(self) -> None:
        """Subscribes to every event stored from now on, in stream order."""
        await self._subscribe(None)
        self._watching = asyncio.create_task(self._watch())

    async def _subscribe(self, start: int | None) -> None:
        """Subscribes to the events from stream sequence ``start`` (None: new ones)."""
        self._generation += 1
        self._expected = None
        config = None
        if start is not None:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start
            )
        self._events = await self._js.subscribe(
            ALL_EVENTS,
            stream=EVENTS_STREAM,
            cb=partial(self._on_event, self._generation),
            ordered_consumer=True,
            deliver_policy=None if config else DeliverPolicy.NEW,
            config=config,
            pending_bytes_limit=self._pending_bytes,
        )

    async def _resume(self, missing: int) -> None:
        """Replaces the events subscription by one from ``missing`` on."""
        logger.warning(
            "stream sequence %s was dropped by the client or not delivered; "
            "reading again from there",
            missing,
        )
        if self._events is not None:
            with contextlib.suppress(NatsError):
                await self._events.unsubscribe()
        try:
            await self._subscribe(missing)
        except NatsError as e:
            # The watch tries again, from the same sequence.
            logger.error("cannot subscribe to the events again: %s", e)
            self._expected = missing

    async def _watch(self) -> None:
        """Resumes where the events stopped coming although the stream has more."""
        while True:
            expected = self._expected
            await asyncio.sleep(self._stall_seconds)
            resuming = self._resuming is not None and not self._resuming.done()
            if expected is None or expected != self._expected or resuming:
                continue
            try:
                last = (await self._js.stream_info(EVENTS_STREAM)).state.last_seq
            except NatsError as e:
                logger.warning("cannot read the event stream's state: %s", e)
                continue
            if last >= expected and expected == self._expected:
                self._generation += 1
                await self._resume(expected)

    async def stop(self) -> None:
        """Ends every subscription; attached outboxes receive nothing more."""
        for task in (self._watching, self._resuming):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._generation += 1
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

    async def _on_event(self, generation: int, msg: Msg) -> None:
        if generation != self._generation:
            return
        sequence = msg.metadata.sequence.stream
        if self._expected is not None and sequence != self._expected:
            # This callback belongs to the subscription it would replace.
            self._generation += 1
            self._resuming = asyncio.create_task(self._resume(self._expected))
            return
        self._expected = sequence + 1
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
