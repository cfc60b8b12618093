"""Runs the query API: ``python -m query_api``."""

from __future__ import annotations

from infra.logs import configure_logging
from infra.serve import serve_http
from infra.settings import get_settings
from query_api.app import create_app


def main() -> None:
    """Serves the query API on its own port until stopped."""
    settings = get_settings()
    configure_logging("query-api", settings.log_level)
    serve_http(create_app(settings), settings, settings.query_api_port)


if __name__ == "__main__":
    main()
