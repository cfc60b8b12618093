"""Runs the command API: ``python -m command_api``."""

from __future__ import annotations

import uvicorn

from command_api.app import create_app
from infra.logs import configure_logging
from infra.settings import get_settings


def main() -> None:
    """Serves the command API on its own port until stopped."""
    settings = get_settings()
    configure_logging("command-api", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.command_api_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
