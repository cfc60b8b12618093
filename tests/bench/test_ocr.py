"""Plain ocrmypdf in the OCR benchmark runs exactly as the worker runs it."""

from __future__ import annotations

from pathlib import Path

from bench.ocr import LANG, plain_command
from ocr_worker.ocr import _ocrmypdf_command


def test_the_plain_command_is_the_workers_without_its_progress_plugin() -> None:
    work = Path("/work")
    worker = _ocrmypdf_command(work, LANG, 1)
    plugin = worker.index("--plugin")
    without_plugin = worker[:plugin] + worker[plugin + 2 :]

    assert plain_command(work / "in.pdf", work) == without_plugin
