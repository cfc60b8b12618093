"""Bearer tokens: how they are made, hashed and looked up for every request."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

TOKEN_PREFIX = "plt_"  # noqa: S105 - a marker, not a secret
# How long a process may go on accepting a token revoked elsewhere, on top of
# the read model's own delay in projecting the revocation.
TOKEN_CACHE_SECONDS = 5.0
TOKEN_CACHE_SIZE = 10_000
REVOKED_KEPT = 100_000


@dataclass(frozen=True)
class Principal:
    """The user a request acts for."""

    user_id: UUID
    name: str


def new_token() -> str:
    """Returns a fresh bearer token; only its hash is ever stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Returns the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """Returns the token of an ``Authorization: Bearer`` header, if well formed."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 256:
        return None
    return token


async def authenticate(
    conn: AsyncConnection[tuple[UUID, str]], token: str
) -> Principal | None:
    """Returns the user a token belongs to, or None for an unknown or revoked one."""
    found = await find_token(conn, hash_token(token))
    return found[1] if found else None


async def find_token(
    conn: AsyncConnection[Any], token_hash: str
) -> tuple[UUID, Principal] | None:
    """Returns a valid token's id and user; None if it is unknown or revoked."""
    cursor = await conn.execute(
        "SELECT t.token_id, u.id, u.name FROM read_model.api_tokens t"
        " JOIN read_model.users u ON u.id = t.user_id"
        " WHERE t.token_hash = %s AND NOT t.revoked",
        (token_hash,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    return row[0], Principal(user_id=row[1], name=row[2])


class TokenCache:
    """Tokens that authenticated a moment ago, and token ids known to be revoked.

    A hit spares the read model a query per request. Only tokens that did
    authenticate are kept, at most ``max_size`` and each for ``seconds``, so
    unknown tokens cannot fill it. A revocation this process hears of counts at
    once; one it does not hear of counts within ``seconds``.
    """

    def __init__(
        self,
        seconds: float = TOKEN_CACHE_SECONDS,
        max_size: int = TOKEN_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds = seconds
        self._max_size = max_size
        self._clock = clock
        self._tokens: OrderedDict[str, tuple[float, UUID, Principal]] = OrderedDict()
        self._revoked: OrderedDict[UUID, None] = OrderedDict()

    def get(self, token_hash: str) -> Principal | None:
        """Returns the user of a token that authenticated within ``seconds``."""
        entry = self._tokens.get(token_hash)
        if entry is None:
            return None
        expires, _, principal = entry
        if self._clock() >= expires:
            del self._tokens[token_hash]
            return None
        return principal

    def put(self, token_hash: str, token_id: UUID, principal: Principal) -> bool:
        """Keeps a token the read model found valid; False if it is known revoked."""
        if token_id in self._revoked:
            return False
        self._tokens[token_hash] = (self._clock() + self._seconds, token_id, principal)
        self._tokens.move_to_end(token_hash)
        while len(self._tokens) > self._max_size:
            self._tokens.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._tokens)

    def revoke(self, token_id: UUID) -> None:
        """Refuses a token from now on, even while the read model still has it."""
        self._revoked[token_id] = None
        while len(self._revoked) > REVOKED_KEPT:
            self._revoked.popitem(last=False)
        for token_hash, (_, cached_id, _) in list(self._tokens.items()):
            if cached_id == token_id:
                del self._tokens[token_hash]
