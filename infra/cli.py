"""The ``paperledger`` command: start the system, manage users and tokens, rebuild."""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg

from infra.embedded import EmbeddedPostgres
from infra.logs import configure_logging
from infra.postgres import create_read_models, eventsourcing_env
from infra.settings import Settings, get_settings

if TYPE_CHECKING:
    from schemas.events import EventEnvelope

logger = logging.getLogger(__name__)

TOKEN_VISIBLE_WAIT_SECONDS = 10.0


def main(argv: list[str] | None = None) -> int:
    """Runs one ``paperledger`` subcommand and returns its exit status."""
    args = _parser().parse_args(argv)
    settings = get_settings()
    verbose = args.command in ("up", "opensearch")
    configure_logging("paperledger", "INFO" if verbose else "WARNING")
    try:
        return int(args.run(settings, args))
    except CliError as e:
        print(f"paperledger: {e}", file=sys.stderr)
        return 1


class CliError(Exception):
    """Raised when a subcommand cannot do what was asked; the message says why."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperledger", description="Paperledger document management."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the whole system on this machine")
    up.set_defaults(run=_up)
    users = commands.add_parser("users", help="manage users").add_subparsers(
        dest="action", required=True
    )
    add_user = users.add_parser("add", help="create a user with home and inbox")
    add_user.add_argument("name")
    add_user.set_defaults(run=_add_user)
    tokens = commands.add_parser("tokens", help="manage API tokens").add_subparsers(
        dest="action", required=True
    )
    add_token = tokens.add_parser("add", help="print a new bearer token for a user")
    add_token.add_argument("name")
    add_token.add_argument("--label", default="", help="what the token is for")
    add_token.set_defaults(run=_add_token)
    rebuild = commands.add_parser(
        "rebuild", help="drop every read model and rebuild it from the event store"
    )
    rebuild.set_defaults(run=_rebuild)
    setup = commands.add_parser(
        "setup", help="create the tables, stream and bucket on configured services"
    )
    setup.set_defaults(run=_setup)
    opensearch = commands.add_parser(
        "opensearch", help="build and run an embedded OpenSearch node (needs Java)"
    )
    opensearch.set_defaults(run=_opensearch)
    return parser


def _setup(settings: Settings, _: argparse.Namespace) -> int:
    from infra.settings import require
    from infra.supervisor import prepare_services

    prepare_services(
        require(settings.database_url, "database_url"),
        require(settings.nats_url, "nats_url"),
    )
    print("services ready")
    return 0


def _up(settings: Settings, _: argparse.Namespace) -> int:
    from infra.supervisor import Supervisor

    Supervisor(settings).run()
    return 0


def _opensearch(settings: Settings, _: argparse.Namespace) -> int:
    from infra.embedded import LaunchError
    from infra.embedded_opensearch import EmbeddedOpenSearch, java_and_maven_available

    missing = java_and_maven_available()
    if missing:
        raise CliError(missing)
    node = EmbeddedOpenSearch(
        settings.resolved_data_dir / "opensearch",
        settings.opensearch_port,
        build_dir=settings.opensearch_build_dir,
        heap=settings.opensearch_heap,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        node.start()
        print(
            f"OpenSearch is ready; set PAPERLEDGER_OPENSEARCH_URL={node.url}",
            flush=True,
        )
        print("Ctrl-C stops it", file=sys.stderr)
        status = node.wait()
    except LaunchError as e:
        raise CliError(str(e)) from None
    except KeyboardInterrupt:
        return 0
    finally:
        node.stop()
    raise CliError(f"OpenSearch exited with {status}; see {node.data_dir / 'logs'}")


def _add_user(settings: Settings, args: argparse.Namespace) -> int:
    from command_api.application import Paperledger
    from command_api.errors import CommandError

    with _database(settings) as (url, _running):
        ledger = Paperledger(env=eventsourcing_env(url))
        try:
            written = ledger.register_user(args.name)
        except CommandError as e:
            raise CliError(str(e)) from None
        finally:
            ledger.close()
    print(f"user {args.name} created with id {written.id}")
    return 0


def _add_token(settings: Settings, args: argparse.Namespace) -> int:
    from command_api.application import Paperledger
    from command_api.errors import CommandError

    with _database(settings) as (url, system_running):
        ledger = Paperledger(env=eventsourcing_env(url))
        try:
            token, written = ledger.issue_token(args.name, args.label)
        except CommandError as e:
            raise CliError(str(e)) from None
        finally:
            ledger.close()
        visible = system_running and _wait_for_read_models(url, written.position)
    print(token)
    if not visible:
        print(
            "note: the token works once the system has processed it "
            "(start it with `paperledger up`)",
            file=sys.stderr,
        )
    return 0


def _rebuild(settings: Settings, _: argparse.Namespace) -> int:
    from command_api.application import Paperledger
    from command_api.envelopes import read_log
    from projectors.rebuild import rebuild

    with _database(settings) as (url, _running):
        create_read_models(url)
        ledger = Paperledger(env=eventsourcing_env(url))
        started = time.monotonic()
        try:
            count = rebuild(url, read_log(ledger))
            seconds = time.monotonic() - started
            print(f"rebuilt the read models from {count} events in {seconds:.1f} s")
            if settings.opensearch_url:
                _rebuild_opensearch(settings, url, read_log(ledger))
        finally:
            ledger.close()
    return 0


def _rebuild_opensearch(
    settings: Settings, database_url: str, envelopes: Iterable[EventEnvelope]
) -> None:
    import asyncio

    from projectors.opensearch_rebuild import rebuild_opensearch

    assert settings.opensearch_url
    started = time.monotonic()
    count = asyncio.run(
        rebuild_opensearch(
            settings.opensearch_url,
            envelopes,
            database_url=database_url,
            prefix=settings.opensearch_prefix,
        )
    )
    seconds = time.monotonic() - started
    print(f"rebuilt the OpenSearch index from {count} events in {seconds:.1f} s")


@contextmanager
def _database(settings: Settings) -> Iterator[tuple[str, bool]]:
    """Yields the database URL and whether the system is running.

    Where no database is configured and the embedded one is not running, it is
    started for this command alone.
    """
    if settings.database_url:
        yield settings.database_url, True
        return
    server = EmbeddedPostgres(
        settings.resolved_data_dir / "postgres", settings.postgres_port
    )
    if _listening(server.host, server.port):
        yield server.url, True
        return
    server.start()
    try:
        yield server.url, False
    finally:
        server.stop()


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _wait_for_read_models(url: str, position: int) -> bool:
    """Tells whether the read models reached ``position`` within a short wait."""
    deadline = time.monotonic() + TOKEN_VISIBLE_WAIT_SECONDS
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            try:
                row = conn.execute(
                    "SELECT position FROM read_model.positions"
                    " WHERE projector = 'postgres'"
                ).fetchone()
            except psycopg.errors.UndefinedTable:
                return False
            if row and int(row[0]) >= position:
                return True
            time.sleep(0.1)
    return False


if __name__ == "__main__":
    sys.exit(main())
