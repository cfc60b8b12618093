"""How big and how long a benchmark run is: the full defaults and ``--quick``."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class BenchConfig:
    """Every size and duration of a run; the defaults are the full run."""

    clients: int = 16
    seconds: float = 30.0
    warmup: float = 3.0
    rate: float = 500.0
    read_every: int = 5
    pool: int = 2000
    uploads: int = 300
    upload_clients: int = 4
    ocr_documents: int = 4
    ocr_pages: int = 3
    documents: int = 10_000
    browse_requests: int = 1000
    browse_clients: int = 2

    def quick(self) -> BenchConfig:
        """Returns this run made small and short enough for a few minutes."""
        return replace(
            self,
            seconds=8.0,
            warmup=2.0,
            pool=500,
            uploads=60,
            ocr_documents=2,
            ocr_pages=2,
            documents=2000,
            browse_requests=300,
        )
