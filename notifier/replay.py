"""Reads back from JetStream the events a reconnecting client missed, in order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from notifier.errors import ReplayError
from schemas.events import EventEnvelope
from schemas.subjects import ALL_EVENTS, EVENTS_STREAM

logger = logging.getLogger(__name__)

BATCH = 256
FETCH_TIMEOUT_SECONDS = 5.0
# A replay consumer is deleted when done; this removes it if the notifier died.
CONSUMER_INACTIVE_SECONDS = 60.0

Deliver = Callable[[EventEnvelope], Awaitable[None]]


async def replay_missed(
    js: JetStreamContext, owner_id: UUID, since: int, deliver: Deliver
) -> int:
    """Delivers the owner's events after position ``since`` up to the stream's end.

    The stream's end is read when this is called, so a caller that starts
    buffering live events first misses nothing. Returns the last stream sequence
    read, or 0 when nothing was missed.
    """
    try:
        state = (await js.stream_info(EVENTS_STREAM)).state
        start = await first_sequence_after(js, since, state.first_seq, state.last_seq)
        if start is None:
            return 0
        logger.debug(
            "replaying stream sequences %s..%s for %s", start, state.last_seq, owner_id
        )
        return await _read(js, owner_id, start, state.last_seq, deliver)
    except (NatsError, ValidationError) as e:
        raise ReplayError(f"cannot read events after position {since}: {e}") from e


async def first_sequence_after(
    js: JetStreamContext, since: int, first_seq: int, last_seq: int
) -> int | None:
    """Returns the stream sequence of the first event with a position above ``since``.

    Positions grow with stream sequences but have gaps, so this is a binary
    search over the stream; deleted sequences are skipped over.
    """
    found = None
    low, high = first_seq, last_seq
    while low <= high:
        middle = (low + high) // 2
        located = await _located_at_or_after(js, middle)
        if located is None or located[0] > high:
            high = middle - 1
        elif located[1] > since:
            found, high = located[0], middle - 1
        else:
            low = located[0] + 1
    return found


async def _located_at_or_after(
    js: JetStreamContext, seq: int
) -> tuple[int, int] | None:
    """Returns the sequence and position of the first event at or after ``seq``."""
    try:
        msg = await js.get_msg(EVENTS_STREAM, seq=seq, subject=ALL_EVENTS, next=True)
    except NotFoundError:
        return None
    msg_id = (msg.headers or {}).get("Nats-Msg-Id", "")
    if msg_id.isdigit():
        return msg.seq or seq, int(msg_id)
    return msg.seq or seq, EventEnvelope.model_validate_json(msg.data or b"").position


async def _read(
    js: JetStreamContext, owner_id: UUID, start: int, end: int, deliver: Deliver
) -> int:
    name = f"notifier-replay-{uuid4().hex}"
    config = ConsumerConfig(
        name=name,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=start,
        ack_policy=AckPolicy.NONE,
        filter_subject=ALL_EVENTS,
        inactive_threshold=CONSUMER_INACTIVE_SECONDS,
        mem_storage=True,
        num_replicas=1,
    )
    await js.add_consumer(EVENTS_STREAM, config=config)
    subscription = await js.pull_subscribe_bind(consumer=name, stream=EVENTS_STREAM)
    try:
        return await _fetch_until(subscription, owner_id, end, deliver)
    finally:
        with contextlib.suppress(NatsError):
            await subscription.unsubscribe()
            await js.delete_consumer(EVENTS_STREAM, name)


async def _fetch_until(
    subscription: JetStreamContext.PullSubscription,
    owner_id: UUID,
    end: int,
    deliver: Deliver,
) -> int:
    seq = 0
    while seq < end:
        try:
            batch = await subscription.fetch(BATCH, timeout=FETCH_TIMEOUT_SECONDS)
        except NatsTimeoutError as e:
            raise ReplayError(f"no event after stream sequence {seq}") from e
        for msg in batch:
            seq = msg.metadata.sequence.stream
            envelope = _envelope(msg.data, seq)
            if envelope is not None and envelope.owner_id == owner_id:
                await deliver(envelope)
        if batch[-1].metadata.num_pending == 0:
            break
    return seq


def _envelope(data: bytes, seq: int) -> EventEnvelope | None:
    try:
        return EventEnvelope.model_validate_json(data)
    except ValidationError:
        logger.warning("skipped a malformed event at stream sequence %s", seq)
        return None
