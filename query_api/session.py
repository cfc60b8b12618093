"""What every read needs: a snapshot, the caller, and the position it reflects."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from infra.auth import Principal, authenticate, bearer_token
from infra.problems import Problem
from infra.settings import Settings
from query_api.positions import READ_MODELS, read_position, wait_for_position

POSITION_HEADER = "Paperledger-Position"
_bearer = HTTPBearer(auto_error=False, description="An API token of the user.")


@dataclass(frozen=True)
class Reader:
    """One request's view of the read models, all from one snapshot."""

    conn: AsyncConnection[Any]
    principal: Principal
    position: int


@contextlib.asynccontextmanager
async def open_reader(
    request: Request, wait_for: int | None, projectors: tuple[str, ...] = READ_MODELS
) -> AsyncIterator[Reader]:
    """Waits for a position if asked, then authenticates on a fresh snapshot."""
    pool: AsyncConnectionPool[Any] = request.app.state.pool
    settings: Settings = request.app.state.settings
    if wait_for is not None:
        watcher = getattr(request.app.state, "positions", None)
        await wait_for_position(
            pool, wait_for, settings.read_wait_seconds, projectors, watcher
        )
    async with pool.connection() as conn:
        position = await read_position(conn, projectors)
        request.state.read_position = position
        principal = await _principal(conn, request.headers.get("authorization"))
        yield Reader(conn, principal, position)


PositionHeader = Annotated[
    int | None,
    Header(
        alias=POSITION_HEADER,
        ge=0,
        description="Wait until the read models reflect this event position.",
    ),
]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def reader(
    request: Request, _credentials: Credentials, position: PositionHeader = None
) -> AsyncIterator[Reader]:
    """Yields a snapshot of the read models for an authenticated caller."""
    async with open_reader(request, position) as opened:
        yield opened


async def caller(
    request: Request, _credentials: Credentials, position: PositionHeader = None
) -> Principal:
    """Returns the authenticated caller, for routes that read through another port.

    Such a route waits for, and reports, the position of that port's read model too.
    """
    projectors = getattr(request.app.state, "search_read_models", READ_MODELS)
    async with open_reader(request, position, projectors) as opened:
        return opened.principal


async def _principal(
    conn: AsyncConnection[Any], authorization: str | None
) -> Principal:
    token = bearer_token(authorization)
    principal = await authenticate(conn, token) if token else None
    if principal is None:
        raise Problem(
            401,
            "Unauthorized",
            "A valid API token is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


ReaderDep = Annotated[Reader, Depends(reader)]
CallerDep = Annotated[Principal, Depends(caller)]
