from __future__ import annotations

import uuid

import pytest
from nats.aio.client import Client

from infra.stream import first_sequence_after
from schemas.subjects import EVENTS_STREAM
from tests.notifier.bus import publish_event, renamed

POSITIONS = [2, 3, 5, 8, 13]


@pytest.fixture
async def stream_with_gaps(nc: Client) -> Client:
    owner = uuid.uuid4()
    for position in POSITIONS:
        await publish_event(nc.jetstream(), renamed(position, owner))
    return nc


@pytest.mark.parametrize(
    ("since", "sequence"),
    [(0, 1), (2, 2), (4, 3), (5, 4), (12, 5), (13, None), (100, None)],
)
async def test_the_first_sequence_after_a_position_is_found_despite_gaps(
    stream_with_gaps: Client, since: int, sequence: int | None
) -> None:
    js = stream_with_gaps.jetstream()

    found = await first_sequence_after(js, since, 1, len(POSITIONS))

    assert found == sequence


async def test_the_first_sequence_after_a_position_skips_deleted_messages(
    stream_with_gaps: Client,
) -> None:
    js = stream_with_gaps.jetstream()
    await js.delete_msg(EVENTS_STREAM, 3)

    found = await first_sequence_after(js, 4, 1, len(POSITIONS))

    assert found == 4
