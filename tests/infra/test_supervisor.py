"""Which processes the supervisor starts."""

from __future__ import annotations

from infra.proxy import CADDYFILE
from infra.settings import Settings
from infra.supervisor import COMPONENTS, PROXY, children


def _names(settings: Settings) -> list[str]:
    return [child.name for child in children(settings)]


def test_one_process_per_component_and_the_proxy_by_default() -> None:
    assert _names(Settings()) == [*COMPONENTS, PROXY]


def test_the_proxy_runs_the_deployment_caddyfile_pointed_at_local_processes() -> None:
    proxy = children(Settings(port=9000, query_api_port=9002))[-1]

    assert str(CADDYFILE) in proxy.command
    assert proxy.env["PAPERLEDGER_PORT"] == "9000"
    assert proxy.env["PAPERLEDGER_UPSTREAM_QUERY_API"] == "127.0.0.1:9002"


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
    assert len(names) == len(COMPONENTS)


def test_the_opensearch_projector_starts_only_where_opensearch_is_configured() -> None:
    configured = _names(Settings(opensearch_url="http://search:9200"))

    assert "projector-opensearch" in configured
    assert "projector-opensearch" not in _names(Settings())
