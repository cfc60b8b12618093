"""What every HTTP component shares: the caller's identity and limits on requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Request
from psycopg_pool import AsyncConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infra.auth import Principal, TokenCache, bearer_token, find_token, hash_token
from infra.problems import Problem, problem_response

# Multipart framing and form fields around an uploaded file.
FORM_OVERHEAD_BYTES = 64 * 1024
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="paperledger"'}


async def current_user(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """Returns the user whose bearer token the request carries, or answers 401.

    Where the app keeps a ``TokenCache`` as ``state.tokens``, a token that
    authenticated a moment ago is not looked up again.
    """
    token = bearer_token(authorization)
    if token is None:
        raise Problem(
            401,
            "Unauthorized",
            "Send 'Authorization: Bearer <token>'.",
            headers=UNAUTHORIZED_HEADERS,
        )
    token_hash = hash_token(token)
    tokens: TokenCache | None = getattr(request.app.state, "tokens", None)
    principal = tokens.get(token_hash) if tokens is not None else None
    if principal is None:
        principal = await _look_up(request, tokens, token_hash)
    return principal


async def _look_up(
    request: Request, tokens: TokenCache | None, token_hash: str
) -> Principal:
    pool: AsyncConnectionPool = request.app.state.pool
    async with pool.connection() as conn:
        found = await find_token(conn, token_hash)
    if found is None or (tokens is not None and not tokens.put(token_hash, *found)):
        raise Problem(
            401,
            "Unauthorized",
            "The token is unknown or revoked.",
            headers=UNAUTHORIZED_HEADERS,
        )
    return found[1]


class BodyLimit:
    """Refuses a request body larger than ``max_bytes`` before it is parsed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (
            not declared.isdigit() or int(declared) > self.max_bytes
        ):
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "Content Too Large",
            f"The request body is larger than {self.max_bytes} bytes.",
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    """Raised inside the body stream once it passes the limit."""


# Methods that change nothing; a server under load still answers them.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class PendingLimit:
    """Answers 503 at once to a write that finds ``max_pending`` writes under way.

    A server that takes every write past its capacity answers all of them later
    and later, in the end later than their clients wait, and spends its time on
    answers nobody reads. Refusing the excess at once, with ``Retry-After``,
    keeps the accepted writes fast and the refused ones cheap. Safe methods are
    never refused.
    """

    def __init__(self, app: ASGIApp, max_pending: int) -> None:
        self.app = app
        self.max_pending = max_pending
        self.pending = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if self.pending >= self.max_pending:
            response = problem_response(
                503,
                "Service Unavailable",
                f"{self.pending} writes are under way, as many as this server "
                "takes at once; try again in a moment.",
                headers={"Retry-After": "1"},
            )
            await response(scope, receive, send)
            return
        self.pending += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.pending -= 1
