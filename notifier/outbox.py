"""A connection's bounded queue of frames, filled by the fan-out and drained by it."""

from __future__ import annotations

import asyncio
from uuid import UUID

from notifier.errors import ClientTooSlowError
from notifier.frames import Frame


class Outbox:
    """Frames waiting for one socket; overflowing it marks the client as too slow."""

    def __init__(self, owner_id: UUID, limit: int) -> None:
        self.owner_id = owner_id
        self.limit = limit
        self.overflowed = False
        self._queue: asyncio.Queue[Frame | None] = asyncio.Queue()

    def offer(self, frame: Frame) -> None:
        """Queues a frame without waiting; a full outbox is marked overflowed."""
        if self.overflowed:
            return
        if self._queue.qsize() >= self.limit:
            # Nothing more is queued: the socket is closed and the client resumes
            # from the last position it saw, instead of holding up everyone else.
            self.overflowed = True
            self._queue.put_nowait(None)
            return
        self._queue.put_nowait(frame)

    async def take(self) -> Frame:
        """Returns the next frame, waiting for it; raises once the outbox overflowed."""
        if self.overflowed:
            raise ClientTooSlowError(f"more than {self.limit} frames were waiting")
        frame = await self._queue.get()
        if frame is None or self.overflowed:
            raise ClientTooSlowError(f"more than {self.limit} frames were waiting")
        return frame
