"""What a client sends with its websocket handshake, and how one is refused.

A refused handshake is answered with an HTTP problem-details response, never with
an open socket: 401 for a missing, unknown or revoked token, 400 for a bad
``since``, 503 when the token cannot be checked. Browsers see such a refusal as a
failed connection (close code 1006) without the status, so a web client that
cannot connect checks its token over HTTP before it retries.
"""

from __future__ import annotations

from starlette.websockets import WebSocket

from infra.auth import bearer_token
from infra.problems import problem_response
from notifier.errors import NotifierError

MAX_TOKEN_LENGTH = 256


class BadSinceError(NotifierError):
    """Raised when ``since`` is not a non-negative integer position."""


def token_of(websocket: WebSocket) -> str | None:
    """Returns the bearer token of the header, else of the ``token`` parameter."""
    token = bearer_token(websocket.headers.get("authorization"))
    if token is not None:
        return token
    # Browsers cannot set headers on a websocket, so they pass it in the URL.
    token = websocket.query_params.get("token", "").strip()
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


def since_of(websocket: WebSocket) -> int | None:
    """Returns the position a client last saw, or None when it wants only news."""
    raw = websocket.query_params.get("since")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise BadSinceError(
            "since must be the position of the last event seen, an integer >= 0"
        )
    return int(raw)


async def refuse(
    websocket: WebSocket,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> None:
    """Answers the handshake with an HTTP error instead of opening the socket."""
    response = problem_response(status, title, detail, headers)
    await websocket.send_denial_response(response)
