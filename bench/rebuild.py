"""Figure 6: events per second when every read model is rebuilt from the event store."""

from __future__ import annotations

import logging
import time

from bench.systems import ledger
from bench.table import Figure, Target
from command_api.envelopes import read_log
from projectors.rebuild import rebuild
from tests.e2e.system import System

logger = logging.getLogger(__name__)

EVENTS_PER_SECOND = Target(20_000, "at least")


def rebuild_figures(system: System) -> list[Figure]:
    """Rebuilds the read models as ``paperledger rebuild`` does, timing it."""
    with ledger(system) as application:
        started = time.perf_counter()
        count = rebuild(system.database_url, read_log(application))
        seconds = time.perf_counter() - started
    logger.info("figure 6: rebuilt from %s events in %.2f s", count, seconds)
    return [
        Figure(
            f"6 rebuild from {count:,} events",
            count / seconds,
            "events/s",
            EVENTS_PER_SECOND,
        ),
        Figure("6 rebuild: duration", seconds, "s"),
    ]
