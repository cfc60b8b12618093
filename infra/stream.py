"""Finding places in the event stream by event position, not stream sequence."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from schemas.events import EventEnvelope
from schemas.subjects import ALL_EVENTS, EVENTS_STREAM


async def start_after(js: JetStreamContext, position: int) -> int:
    """Returns the stream sequence to read from to get every event after ``position``.

    Where the stream holds nothing newer, it is the sequence the next event gets.
    """
    state = (await js.stream_info(EVENTS_STREAM)).state
    found = await first_sequence_after(js, position, state.first_seq, state.last_seq)
    return found if found is not None else state.last_seq + 1


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
