"""Serving one HTTP component with uvicorn, the same way for every component."""

from __future__ import annotations

import logging
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from infra.settings import Settings

logger = logging.getLogger(__name__)


def serve_http(app: ASGIApp, settings: Settings, port: int, **options: Any) -> None:
    """Serves ``app`` on the configured host and ``port`` until stopped."""
    logger.info("listening on %s:%s", settings.host, port)
    uvicorn.run(
        app,
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
        **options,
    )
