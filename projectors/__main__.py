"""Runs the PostgreSQL projector: ``python -m projectors``."""

from __future__ import annotations

import asyncio

from infra.settings import require
from projectors.consumer import PostgresSink
from projectors.runner import run_projector

if __name__ == "__main__":
    asyncio.run(
        run_projector(
            "projector",
            lambda settings: PostgresSink(
                require(settings.database_url, "database_url")
            ),
        )
    )
