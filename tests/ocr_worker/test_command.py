"""The OCRmyPDF command: the worker's, and plain OCRmyPDF for comparison."""

from __future__ import annotations

from pathlib import Path

from ocr_worker.ocr import ocrmypdf_command


def test_plain_ocrmypdf_is_the_workers_run_without_its_progress_plugin() -> None:
    work = Path("/work")
    worker = ocrmypdf_command(work / "in.pdf", work, "eng", 1)
    plugin = worker.index("--plugin")

    plain = ocrmypdf_command(work / "in.pdf", work, "eng", 1, progress=False)

    assert plain == worker[:plugin] + worker[plugin + 2 :]
    assert "--rasterizer" in plain
    assert "pypdfium" in plain
