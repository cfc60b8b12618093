"""Runs the notifier: ``python -m notifier``."""

from __future__ import annotations

from infra.logs import configure_logging
from infra.serve import serve_http
from infra.settings import get_settings
from notifier.app import create_app
from notifier.session import MAX_CLIENT_TEXT_BYTES

PING_INTERVAL_SECONDS = 20.0


def main() -> None:
    """Serves the notifier on its own port until stopped."""
    settings = get_settings()
    configure_logging("notifier", settings.log_level)
    serve_http(
        create_app(settings),
        settings,
        settings.notifier_port,
        # The server pings every socket so dead peers and idle proxies are noticed.
        ws_ping_interval=PING_INTERVAL_SECONDS,
        ws_ping_timeout=PING_INTERVAL_SECONDS,
        # Larger frames are refused by the protocol layer before they are read.
        ws_max_size=16 * MAX_CLIENT_TEXT_BYTES,
    )


if __name__ == "__main__":
    main()
