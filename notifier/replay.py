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
from pydantic import ValidationError

from infra.stream import first_sequence_after
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
