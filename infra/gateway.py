"""The one public URL: reads go to the query API, writes to the command API.

``/ws`` goes to the notifier, and ``/docs`` shows both APIs as one. A deployment
puts a real reverse proxy in its place with the same rules.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request, WebSocket
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from infra.problems import problem_response
from infra.settings import Settings, get_settings

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD"})
# Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


# The gateway's own server writes these; the upstream's copies would repeat them.
SET_BY_SERVER = frozenset({"date", "server"})


def create_app(settings: Settings) -> FastAPI:
    """Returns the gateway in front of the components ``settings`` locates."""
    command_url = (
        settings.command_api_url or f"http://127.0.0.1:{settings.command_api_port}"
    )
    query_url = settings.query_api_url or f"http://127.0.0.1:{settings.query_api_port}"
    notifier_url = (
        settings.notifier_url or f"ws://127.0.0.1:{settings.notifier_port}"
    ) + "/ws"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        timeout = httpx.Timeout(60.0, connect=5.0)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            app.state.client = client
            yield

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        client: httpx.AsyncClient = request.app.state.client
        documents = [
            (await client.get(f"{base}/openapi.json")).json()
            for base in (query_url, command_url)
        ]
        return JSONResponse(merge_openapi(documents))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Paperledger API")

    @app.websocket("/ws")
    async def websocket(client: WebSocket) -> None:
        await _proxy_websocket(client, notifier_url)

    @app.api_route(
        "/{path:path}",
        methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
    )
    async def forward(request: Request, path: str) -> Response:
        base = query_url if request.method in READ_METHODS else command_url
        return await _forward(request, base)

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
        "components": {"schemas": {}},
    }
    for document in documents:
        for path, operations in document.get("paths", {}).items():
            merged["paths"].setdefault(path, {}).update(operations)
        schemas = document.get("components", {}).get("schemas", {})
        merged["components"]["schemas"].update(schemas)
    return merged


async def _forward(request: Request, base: str) -> Response:
    client: httpx.AsyncClient = request.app.state.client
    headers = [
        (k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP
    ]
    upstream_request = client.build_request(
        request.method,
        base + request.url.path,
        params=request.url.query,
        headers=headers,
        content=request.stream(),
    )
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.TransportError as e:
        logger.warning("upstream %s unreachable: %s", base, e)
        return problem_response(
            503, "Service Unavailable", "A component is starting or down; try again."
        )
    response_headers = {
        k: v
        for k, v in upstream.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() not in SET_BY_SERVER
    }
    return StreamingResponse(
        upstream.aiter_raw(),
        status_code=upstream.status_code,
        headers=response_headers,
        background=BackgroundTask(upstream.aclose),
    )


async def _proxy_websocket(client: WebSocket, upstream_url: str) -> None:
    query = client.url.query
    url = f"{upstream_url}?{query}" if query else upstream_url
    headers = {}
    if "authorization" in client.headers:
        headers["Authorization"] = client.headers["authorization"]
    try:
        upstream = await ws_connect(url, additional_headers=headers, max_size=2**22)
    except InvalidStatus as e:
        status = e.response.status_code
        await client.close(code=4401 if status in (401, 403) else 1011)
        return
    except OSError:
        await client.close(code=1013, reason="notifier unavailable")
        return
    await client.accept()
    async with upstream:
        await _pump(client, upstream)


async def _pump(client: WebSocket, upstream: ClientConnection) -> None:
    async def down() -> None:
        try:
            async for message in upstream:
                if isinstance(message, str):
                    await client.send_text(message)
                else:
                    await client.send_bytes(message)
        except ConnectionClosed:
            pass
        await client.close(
            code=upstream.close_code or 1000, reason=upstream.close_reason or ""
        )

    async def up() -> None:
        while True:
            message = await client.receive()
            if message["type"] == "websocket.disconnect":
                await upstream.close()
                return
            await upstream.send(message.get("text") or message.get("bytes") or "")

    tasks = [asyncio.create_task(down()), asyncio.create_task(up())]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()


def main() -> None:
    """Serves the gateway: ``python -m infra.gateway``."""
    from infra.logs import configure_logging
    from infra.serve import serve_http

    settings = get_settings()
    configure_logging("gateway", settings.log_level)
    serve_http(create_app(settings), settings, settings.port)


if __name__ == "__main__":
    main()
