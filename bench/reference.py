"""The reference ceiling: a bare FastAPI app served exactly as the components are.

``python -m bench.reference PORT`` serves it. It answers the two command routes
the benchmark sends (rename and tag) with a small JSON body and does no work, so
it measures what uvicorn, FastAPI and the client cost on this machine.
"""

from __future__ import annotations

import sys
from typing import Any
from uuid import UUID

from fastapi import FastAPI

from infra.serve import serve_http
from infra.settings import Settings


def create_app() -> FastAPI:
    """Returns the bare app: one POST and one PATCH route with tiny answers."""
    app = FastAPI()

    @app.post("/api/documents/{document_id}/tags")
    async def tag(document_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return {"id": str(document_id), "version": 2, "position": 1}

    @app.patch("/api/documents/{document_id}")
    async def rename(document_id: UUID, body: dict[str, Any]) -> dict[str, Any]:
        return {"id": str(document_id), "version": 2, "position": 1}

    return app


def main() -> None:
    """Serves the reference app on the port given as the only argument."""
    serve_http(create_app(), Settings(host="127.0.0.1"), int(sys.argv[1]))


if __name__ == "__main__":
    main()
