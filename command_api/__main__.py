"""Runs the command API: ``python -m command_api``."""

from __future__ import annotations

from command_api.app import create_app
from infra.logs import configure_logging
from infra.serve import serve_http
from infra.settings import get_settings


def main() -> None:
    """Serves the command API on its own port until stopped."""
    settings = get_settings()
    configure_logging("command-api", settings.log_level)
    serve_http(create_app(settings), settings, settings.command_api_port)


if __name__ == "__main__":
    main()
