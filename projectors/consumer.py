"""The consumer of the event stream that keeps a read model current."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

import psycopg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from infra.nats import connect
from infra.stream import start_after
from projectors.errors import SinkUnavailableError
from projectors.positions import current_position, project_batch
from schemas.events import EventEnvelope
from schemas.subjects import ALL_EVENTS, EVENTS_STREAM

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 10.0
# Messages the client holds for a consumer before it drops the next ones.
PENDING_BYTES = 64 * 1024 * 1024


class Sink(Protocol):
    """A read model the consumer feeds: it keeps its own position."""

    name: str

    async def position(self) -> int:
        """Returns the position reached; raises ``SinkUnavailableError``."""
        ...

    async def apply(self, envelopes: list[EventEnvelope]) -> None:
        """Applies a batch in order, all or none; raises ``SinkUnavailableError``."""
        ...

    async def close(self) -> None:
        """Lets go of the sink's connections."""
        ...


class StreamConsumer:
    """Feeds the stream to a sink in order, from the position the sink holds.

    The sink holds its own position, so the consumer needs no durable JetStream
    consumer: it reads on from the stream sequence after that position with an
    ordered consumer. A sink that cannot take a batch gets it again after a
    backoff, so nothing is lost; a redelivered event is at or below the sink's
    position and changes nothing.

    The client drops messages that arrive while ``pending_bytes`` of them wait
    (a slow consumer); its ordered consumer does not notice, and may then stall.
    So the consumer checks that stream sequences follow one another, and when
    nothing comes, that the stream holds nothing newer. At a gap or a stall it
    applies what came before and subscribes again from the first message missing.
    """

    def __init__(
        self,
        sink: Sink,
        nats_url: str,
        *,
        batch_size: int = 256,
        fetch_timeout: float = 1.0,
        pending_bytes: int = PENDING_BYTES,
    ) -> None:
        self._sink = sink
        self._nats_url = nats_url
        self._batch_size = batch_size
        self._fetch_timeout = fetch_timeout
        self._pending_bytes = pending_bytes

    async def run(self, stop: asyncio.Event) -> None:
        """Projects batches until ``stop`` is set."""
        name = self._sink.name
        client = await connect(self._nats_url, f"projector-{name}")
        try:
            js = client.jetstream()
            position = await self._wait_for_position(stop)
            if position is None:
                return
            start = await start_after(js, position)
            logger.info(
                "reading on from position %s (stream sequence %s)", position, start
            )
            subscription = await self._subscribe(js, start)
            logger.info("%s projector started on %s", name, ALL_EVENTS)
            # The stream sequence the next message must have; the first message
            # of a subscription may come later, where the stream has a hole.
            expected: int | None = None
            while not stop.is_set():
                messages = await self._next_batch(subscription)
                following, missing = _following(messages, expected)
                if not messages and expected is not None:
                    # A consumer that dropped messages can stall for good.
                    state = (await js.stream_info(EVENTS_STREAM)).state
                    missing = expected if state.last_seq >= expected else None
                if following:
                    await self._handle(following, stop)
                    expected = _sequence(following[-1]) + 1
                if missing is not None:
                    logger.warning(
                        "%s projector: stream sequence %s was dropped by the client "
                        "or not delivered; reading again from there",
                        name,
                        missing,
                    )
                    await subscription.unsubscribe()
                    subscription = await self._subscribe(js, missing)
                    expected = None
        finally:
            await client.close()
            await self._sink.close()
        logger.info("%s projector stopped", name)

    async def _wait_for_position(self, stop: asyncio.Event) -> int | None:
        """Returns the sink's position once it answers; None on stop."""
        delay = 0.5
        while not stop.is_set():
            try:
                return await self._sink.position()
            except SinkUnavailableError as e:
                logger.warning(
                    "%s unavailable, retry in %.1f s: %s", self._sink.name, delay, e
                )
            if await _stopped_within(stop, delay):
                return None
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        return None

    async def _subscribe(
        self, js: JetStreamContext, start: int
    ) -> JetStreamContext.PushSubscription:
        return await js.subscribe(
            ALL_EVENTS,
            stream=EVENTS_STREAM,
            ordered_consumer=True,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start
            ),
            pending_bytes_limit=self._pending_bytes,
        )

    async def _next_batch(
        self, subscription: JetStreamContext.PushSubscription
    ) -> list[Msg]:
        try:
            batch = [await subscription.next_msg(timeout=self._fetch_timeout)]
        except TimeoutError:
            return []
        while len(batch) < self._batch_size and subscription.pending_msgs > 0:
            batch.append(await subscription.next_msg(timeout=self._fetch_timeout))
        return batch

    async def _handle(self, messages: list[Msg], stop: asyncio.Event) -> None:
        envelopes = [e for e in map(_decode, messages) if e is not None]
        delay = 0.5
        while True:
            try:
                await self._sink.apply(envelopes)
                return
            except SinkUnavailableError as e:
                logger.warning(
                    "%s unavailable, retry in %.1f s: %s", self._sink.name, delay, e
                )
            if await _stopped_within(stop, delay):
                return
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)


class PostgresSink:
    """The PostgreSQL read models: each batch commits with its position."""

    name = "postgres"

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._conn: psycopg.Connection[Any] | None = None

    async def position(self) -> int:
        """Returns the read models' position."""
        try:
            return await asyncio.to_thread(self._position)
        except psycopg.Error as e:
            await self.close()
            raise SinkUnavailableError(str(e)) from e

    async def apply(self, envelopes: list[EventEnvelope]) -> None:
        """Commits a batch; if the database rejects it, retries event by event."""
        try:
            await asyncio.to_thread(self._commit, envelopes, False)
            return
        except psycopg.OperationalError as e:
            await self.close()
            raise SinkUnavailableError(str(e)) from e
        except psycopg.Error as e:
            logger.warning("a batch failed, retrying event by event: %s", e)
            await self.close()
        try:
            await asyncio.to_thread(self._commit, envelopes, True)
        except psycopg.Error as e:
            await self.close()
            raise SinkUnavailableError(str(e)) from e

    async def close(self) -> None:
        """Closes the connection, if open."""
        await asyncio.to_thread(self._disconnect)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._database_url, autocommit=True)
        return self._conn

    def _position(self) -> int:
        with self._connection().transaction():
            return current_position(self._connection())

    def _commit(self, envelopes: list[EventEnvelope], isolate: bool) -> None:
        position = project_batch(self._connection(), envelopes, isolate=isolate)
        logger.debug("batch of %s committed at position %s", len(envelopes), position)

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PostgresProjector(StreamConsumer):
    """Keeps the PostgreSQL read models current."""

    def __init__(
        self,
        database_url: str,
        nats_url: str,
        *,
        batch_size: int = 256,
        fetch_timeout: float = 1.0,
        pending_bytes: int = PENDING_BYTES,
    ) -> None:
        super().__init__(
            PostgresSink(database_url),
            nats_url,
            batch_size=batch_size,
            fetch_timeout=fetch_timeout,
            pending_bytes=pending_bytes,
        )


def _following(
    messages: list[Msg], expected: int | None
) -> tuple[list[Msg], int | None]:
    """Splits ``messages`` at the first gap in their stream sequences.

    Returns the messages before the gap, and the sequence missing there (None
    for no gap). ``expected`` is the sequence the first must have, if known.
    """
    for index, message in enumerate(messages):
        sequence = _sequence(message)
        if expected is not None and sequence != expected:
            return messages[:index], expected
        expected = sequence + 1
    return messages, None


def _sequence(message: Msg) -> int:
    return int(message.metadata.sequence.stream)


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
        return True
    return False


def _decode(message: Msg) -> EventEnvelope | None:
    try:
        return EventEnvelope.model_validate_json(message.data)
    except ValidationError as e:
        logger.error(
            "skipped a malformed message: subject %s, position %s: %s",
            message.subject,
            (message.headers or {}).get("Nats-Msg-Id"),
            e,
        )
        return None
