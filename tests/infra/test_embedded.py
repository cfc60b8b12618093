from __future__ import annotations

from pathlib import Path

import psycopg

from infra.embedded import EmbeddedPostgres, free_port


def test_postgres_keeps_its_data_across_a_restart(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg", free_port())
    server.start()
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (value text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")
    server.stop()

    server.start()
    with psycopg.connect(server.url) as conn:
        row = conn.execute("SELECT value FROM kept").fetchone()
    server.stop()

    assert row == ("still here",)
