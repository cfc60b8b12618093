"""Blobs in the NATS JetStream Object Store, named by the SHA-256 of their bytes."""

from __future__ import annotations

import hashlib

from nats.js import JetStreamContext
from nats.js.errors import ObjectNotFoundError

from schemas.subjects import BLOB_BUCKET


class BlobNotFoundError(LookupError):
    """Raised when no blob with the asked-for digest is stored."""


def sha256_of(data: bytes) -> str:
    """Returns the hex SHA-256 digest that names ``data`` in the store."""
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Content-addressed blobs; writing the same bytes twice stores them once."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def put(self, data: bytes) -> str:
        """Stores ``data`` unless already there and returns its digest."""
        digest = sha256_of(data)
        store = await self._js.object_store(BLOB_BUCKET)
        try:
            await store.get_info(digest)
        except ObjectNotFoundError:
            await store.put(digest, data)
        return digest

    async def get(self, digest: str) -> bytes:
        """Returns the bytes stored under ``digest``."""
        store = await self._js.object_store(BLOB_BUCKET)
        try:
            result = await store.get(digest)
        except ObjectNotFoundError:
            raise BlobNotFoundError(digest) from None
        assert result.data is not None
        return bytes(result.data)

    async def exists(self, digest: str) -> bool:
        """Tells whether a blob with ``digest`` is stored."""
        store = await self._js.object_store(BLOB_BUCKET)
        try:
            await store.get_info(digest)
        except ObjectNotFoundError:
            return False
        return True
