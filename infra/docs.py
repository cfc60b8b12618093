"""The docs service: one OpenAPI document and Swagger UI over both HTTP APIs.

The public URL itself is a reverse proxy (Caddy, ``infra/deploy/Caddyfile``)
that sends ``/docs`` and ``/openapi.json`` here.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from infra.problems import problem_response
from infra.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    """Returns the docs service for the APIs ``settings`` locates."""
    command_url = (
        settings.command_api_url or f"http://127.0.0.1:{settings.command_api_port}"
    )
    query_url = settings.query_api_url or f"http://127.0.0.1:{settings.query_api_port}"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=10.0) as client:
            app.state.client = client
            yield

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        client: httpx.AsyncClient = request.app.state.client
        try:
            documents = [
                (await client.get(f"{base}/openapi.json")).json()
                for base in (query_url, command_url)
            ]
        except httpx.HTTPError as e:
            logger.warning("an API did not give its OpenAPI document: %s", e)
            return problem_response(
                503, "Service Unavailable", "An API is starting or down; try again."
            )
        return JSONResponse(merge_openapi(documents))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Paperledger API")

    return app


def merge_openapi(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Returns one OpenAPI document holding the paths and schemas of all given."""
    merged: dict[str, Any] = {
        "openapi": documents[0].get("openapi", "3.1.0"),
        "info": {
            "title": "Paperledger API",
            "version": "1",
            "description": "Reads, writes and live events of Paperledger, at one URL.",
        },
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
    }
    for document in documents:
        for path, operations in document.get("paths", {}).items():
            merged["paths"].setdefault(path, {}).update(operations)
        components = document.get("components", {})
        merged["components"]["schemas"].update(components.get("schemas", {}))
        merged["components"]["securitySchemes"].update(
            components.get("securitySchemes", {})
        )
    return merged


def main() -> None:
    """Serves the docs: ``python -m infra.docs``."""
    from infra.logs import configure_logging
    from infra.serve import serve_http

    settings = get_settings()
    configure_logging("docs", settings.log_level)
    serve_http(create_app(settings), settings, settings.docs_port)


if __name__ == "__main__":
    main()
