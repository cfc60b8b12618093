"""An OCRmyPDF plugin that reports each finished page to the worker that started it.

OCRmyPDF loads this file with ``--plugin``. Its progress bar writes the number of
pages done so far, one line per page, to the file descriptor named in
``PAPERLEDGER_OCR_PROGRESS_FD``. A watchdog thread ends the whole OCR run when the
worker named in ``PAPERLEDGER_OCR_PARENT_PID`` dies, so no orphan keeps working.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

from ocrmypdf import hookimpl

PROGRESS_FD_ENV = "PAPERLEDGER_OCR_PROGRESS_FD"
PARENT_PID_ENV = "PAPERLEDGER_OCR_PARENT_PID"

# OCRmyPDF names the progress bar of its per-page step like this; other steps
# (scanning, optimising, checking) also report, but not per recognised page.
_PAGE_STEPS = frozenset({"OCR", "Image processing"})


class PageProgress:
    """Writes the running count of finished pages to the worker's progress pipe."""

    def __init__(
        self,
        *,
        total: float | None = None,
        desc: str | None = None,
        unit: str | None = None,
        disable: bool = False,
        **kwargs: Any,
    ) -> None:
        fd = os.environ.get(PROGRESS_FD_ENV)
        per_page = desc in _PAGE_STEPS and unit == "page"
        self._fd = int(fd) if fd and per_page else None
        self._done = 0.0
        self._reported = 0

    def __enter__(self) -> PageProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, n: float | None = 1, *, completed: float | None = None) -> None:
        """Counts work done and reports every page that is now complete."""
        if self._fd is None:
            return
        self._done = completed if completed is not None else self._done + (n or 0)
        while self._reported < int(self._done + 1e-9):
            self._reported += 1
            try:
                os.write(self._fd, f"{self._reported}\n".encode())
            except OSError:
                # The worker stopped listening; OCR goes on without reporting.
                self._fd = None
                return


@hookimpl
def get_progressbar_class() -> type[PageProgress]:
    """Gives OCRmyPDF the page-reporting progress bar."""
    return PageProgress


def _end_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    # The worker died: nobody will read the result, so stop this process group.
    os.killpg(0, signal.SIGKILL)


def _watch_parent() -> None:
    parent = os.environ.get(PARENT_PID_ENV)
    if parent and os.getppid() == int(parent):
        threading.Thread(
            target=_end_when_orphaned, args=(int(parent),), daemon=True
        ).start()


_watch_parent()
