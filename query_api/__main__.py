"""Runs the query API: ``python -m query_api``."""

from __future__ import annotations

import uvicorn

from infra.logs import configure_logging
from infra.settings import get_settings
from query_api.app import create_app


def main() -> None:
    """Serves the query API on the configured host and port."""
    settings = get_settings()
    configure_logging("query-api", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.query_api_port,
        log_config=None,
    )


if __name__ == "__main__":
    main()
