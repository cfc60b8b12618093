"""One open socket: catch-up, then live frames; what the client sends is ignored.

Close codes: 1003 the client sent a binary frame, 1009 the client sent a text frame
over ``MAX_CLIENT_TEXT_BYTES``, 1011 missed events could not be read back, 1013 the
client fell too far behind (it reconnects with ``?since=<last position>``), 4401
the token was revoked while the socket was open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.js import JetStreamContext
from starlette.websockets import WebSocket, WebSocketDisconnect

from notifier.errors import ClientTooSlowError, ReplayError
from notifier.frames import event_frame
from notifier.outbox import Outbox
from notifier.replay import replay_missed
from schemas.events import EventEnvelope

logger = logging.getLogger(__name__)

MAX_CLIENT_TEXT_BYTES = 1024
CLOSE_TIMEOUT_SECONDS = 5.0

TokenCheck = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class Closing:
    """Why the server ends a socket."""

    code: int
    reason: str


class Session:
    """Streams one owner's frames to one accepted socket until either side ends."""

    def __init__(
        self,
        websocket: WebSocket,
        outbox: Outbox,
        js: JetStreamContext,
        token_is_valid: TokenCheck,
        token_check_seconds: float,
    ) -> None:
        self._websocket = websocket
        self._outbox = outbox
        self._js = js
        self._token_is_valid = token_is_valid
        self._token_check_seconds = token_check_seconds
        self._last_position = 0

    async def run(self, since: int | None) -> None:
        """Serves the socket; returns once it is closed by either side."""
        tasks = [
            asyncio.create_task(self._send(since)),
            asyncio.create_task(self._receive()),
            asyncio.create_task(self._watch_token()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        closing = next(iter(done)).result()
        if closing is not None:
            await self._close(closing)

    async def _send(self, since: int | None) -> Closing | None:
        try:
            if since is not None:
                self._last_position = since
                await replay_missed(
                    self._js, self._outbox.owner_id, since, self._replayed
                )
            while True:
                frame = await self._outbox.take()
                if frame.position is not None:
                    if frame.position <= self._last_position:
                        continue
                    self._last_position = frame.position
                await self._websocket.send_text(frame.text)
        except ClientTooSlowError:
            logger.info(
                "closed the socket of %s, too slow after position %s",
                self._outbox.owner_id,
                self._last_position,
            )
            return Closing(1013, "too slow; reconnect with ?since=<last position>")
        except ReplayError as e:
            logger.warning("cannot replay for %s: %s", self._outbox.owner_id, e)
            return Closing(1011, "missed events cannot be read back; try again")
        except WebSocketDisconnect:
            return None

    async def _replayed(self, envelope: EventEnvelope) -> None:
        # The stream may hold a re-published event; positions never go back.
        if envelope.position <= self._last_position:
            return
        self._last_position = envelope.position
        await self._websocket.send_text(event_frame(envelope).text)

    async def _receive(self) -> Closing | None:
        while True:
            message = await self._websocket.receive()
            if message["type"] == "websocket.disconnect":
                return None
            if message.get("bytes") is not None:
                return Closing(1003, "binary frames are not accepted")
            text = message.get("text") or ""
            if len(text.encode()) > MAX_CLIENT_TEXT_BYTES:
                return Closing(1009, f"frames over {MAX_CLIENT_TEXT_BYTES} bytes")

    async def _watch_token(self) -> Closing:
        while True:
            await asyncio.sleep(self._token_check_seconds)
            if not await self._token_is_valid():
                return Closing(4401, "token revoked")

    async def _close(self, closing: Closing) -> None:
        # A client that stopped reading may never take the close frame.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, TimeoutError):
            await asyncio.wait_for(
                self._websocket.close(closing.code, closing.reason),
                CLOSE_TIMEOUT_SECONDS,
            )
