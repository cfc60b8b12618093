"""Which processes the supervisor starts."""

from __future__ import annotations

from infra.settings import Settings
from infra.supervisor import COMPONENTS, children


def _names(settings: Settings) -> list[str]:
    return [child.name for child in children(settings)]


def test_one_process_per_component_by_default() -> None:
    assert _names(Settings()) == list(COMPONENTS)


def test_ocr_workers_sets_how_many_ocr_workers_start() -> None:
    names = _names(Settings(ocr_workers=3))

    assert [n for n in names if n.startswith("ocr-worker")] == [
        "ocr-worker",
        "ocr-worker-2",
        "ocr-worker-3",
    ]


def test_no_ocr_worker_starts_when_ocr_workers_is_zero() -> None:
    names = _names(Settings(ocr_workers=0))

    assert "ocr-worker" not in names
    assert len(names) == len(COMPONENTS) - 1


def test_the_opensearch_projector_starts_only_where_opensearch_is_configured() -> None:
    configured = _names(Settings(opensearch_url="http://search:9200"))

    assert "projector-opensearch" in configured
    assert "projector-opensearch" not in _names(Settings())
