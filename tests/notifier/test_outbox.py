from __future__ import annotations

import uuid

import pytest

from notifier.errors import ClientTooSlowError
from notifier.frames import Frame
from notifier.outbox import Outbox


async def test_an_outbox_hands_out_frames_in_the_order_they_were_offered() -> None:
    outbox = Outbox(uuid.uuid4(), limit=3)

    for position in (1, 2, 3):
        outbox.offer(Frame(f"frame {position}", position))

    assert [(await outbox.take()).position for _ in range(3)] == [1, 2, 3]


async def test_an_outbox_offered_more_than_its_limit_marks_its_client_too_slow() -> (
    None
):
    outbox = Outbox(uuid.uuid4(), limit=2)

    for position in (1, 2, 3):
        outbox.offer(Frame(f"frame {position}", position))

    assert outbox.overflowed
    with pytest.raises(ClientTooSlowError):
        await outbox.take()
