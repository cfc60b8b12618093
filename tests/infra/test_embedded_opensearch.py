"""The embedded OpenSearch node: health, analysers, nested pages, highlights."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infra.embedded import LaunchError
from infra.embedded_opensearch import EmbeddedOpenSearch, java_and_maven_available

MAPPINGS = {
    "properties": {
        "title": {"type": "text", "analyzer": "german"},
        "pages": {
            "type": "nested",
            "properties": {
                "number": {"type": "integer"},
                "text_eng": {"type": "text", "analyzer": "english"},
                "text_deu": {"type": "text", "analyzer": "german"},
            },
        },
    }
}


@pytest.fixture
def client(opensearch_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=opensearch_url, timeout=30) as http:
        yield http


@pytest.fixture
def index(client: httpx.Client) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    body = {"settings": {"number_of_replicas": 0}, "mappings": MAPPINGS}
    client.put(f"/{name}", json=body).raise_for_status()
    yield name
    client.delete(f"/{name}")


def _index_pages(client: httpx.Client, index: str) -> None:
    documents = {
        "bill": {
            "title": "Stromrechnungen",
            "pages": [
                {"number": 1, "text_eng": "Customer number 4711"},
                {"number": 2, "text_eng": "The invoices are payable within a month"},
            ],
        },
        "letter": {
            "title": "Brief",
            "pages": [{"number": 1, "text_deu": "Wir bitten um Zahlung der Rechnung"}],
        },
    }
    for doc_id, source in documents.items():
        client.put(f"/{index}/_doc/{doc_id}", json=source).raise_for_status()
    client.post(f"/{index}/_refresh").raise_for_status()


def _page_search(client: httpx.Client, index: str, field: str, word: str) -> Any:
    query = {
        "query": {
            "nested": {
                "path": "pages",
                "query": {"match": {f"pages.{field}": word}},
                "inner_hits": {"highlight": {"fields": {f"pages.{field}": {}}}},
            }
        }
    }
    response = client.post(f"/{index}/_search", json=query)
    response.raise_for_status()
    return response.json()["hits"]["hits"]


def test_the_node_reports_a_healthy_single_node_cluster(client: httpx.Client) -> None:
    health = client.get("/_cluster/health").json()

    assert health["status"] in ("green", "yellow")
    assert health["number_of_nodes"] == 1


def test_an_english_stem_finds_its_page_with_a_highlight(
    client: httpx.Client, index: str
) -> None:
    _index_pages(client, index)

    hits = _page_search(client, index, "text_eng", "invoice")

    assert [hit["_id"] for hit in hits] == ["bill"]
    page = hits[0]["inner_hits"]["pages"]["hits"]["hits"][0]
    assert page["_source"]["number"] == 2
    assert page["highlight"]["pages.text_eng"] == [
        "The <em>invoices</em> are payable within a month"
    ]


def test_a_german_stem_finds_its_document_by_page_and_title(
    client: httpx.Client, index: str
) -> None:
    _index_pages(client, index)

    pages = _page_search(client, index, "text_deu", "Rechnungen")
    titles = client.post(
        f"/{index}/_search", json={"query": {"match": {"title": "stromrechnung"}}}
    ).json()["hits"]["hits"]

    assert [hit["_id"] for hit in pages] == ["letter"]
    assert [hit["_id"] for hit in titles] == ["bill"]


def test_painless_scripts_run(client: httpx.Client) -> None:
    script = {"script": {"source": "params.a * 2", "params": {"a": 21}}}

    answer = client.post("/_scripts/painless/_execute", json=script).json()

    assert answer["result"] == "42"


def test_a_second_node_on_a_taken_port_is_refused(
    opensearch: EmbeddedOpenSearch,
) -> None:
    second = EmbeddedOpenSearch(opensearch.data_dir.parent / "second", opensearch.port)

    with pytest.raises(LaunchError, match="already listens"):
        second.start()


def test_missing_java_or_maven_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")

    reason = java_and_maven_available()

    assert reason is not None
    assert "java" in reason
    assert "mvn" in reason
