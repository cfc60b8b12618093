from __future__ import annotations

import uuid

import pytest

from tests.query_api.conftest import Api


async def test_a_folder_is_shown_with_its_version_as_etag(api: Api) -> None:
    ada = api.log.register("ada")
    taxes = api.log.folder(ada, "Taxes", ada.home_folder_id)
    api.project()

    response = await api.get(ada, f"/api/folders/{taxes}")

    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    body = response.json()
    assert (body["title"], body["parent_id"]) == ("Taxes", str(ada.home_folder_id))


async def test_another_users_folder_is_not_found(api: Api) -> None:
    ada = api.log.register("ada")
    bob = api.log.register("bob")
    api.project()

    for path in (f"/api/folders/{ada.home_folder_id}", f"/api/folders/{uuid.uuid4()}"):
        assert (await api.get(bob, path)).status_code == 404
    children = await api.get(bob, f"/api/folders/{ada.home_folder_id}/children")
    assert children.status_code == 404


async def test_a_malformed_folder_id_is_unprocessable(api: Api) -> None:
    ada = api.log.register("ada")
    api.project()

    response = await api.get(ada, "/api/folders/not-a-uuid")

    assert response.status_code == 422


async def test_children_list_folders_first_and_leave_out_the_trash(api: Api) -> None:
    ada = api.log.register("ada")
    home = ada.home_folder_id
    api.log.folder(ada, "Zeta", home)
    kept = api.log.upload(ada, "alpha letter", folder_id=home)
    api.log.add("Document.Tagged", kept, {"tag": "post"})
    trashed = api.log.upload(ada, "Beta", folder_id=home)
    api.log.add("Document.Trashed", trashed, {})
    api.project()

    response = await api.get(ada, f"/api/folders/{home}/children")

    assert response.status_code == 200
    body = response.json()
    assert [(i["kind"], i["title"]) for i in body["items"]] == [
        ("folder", "Zeta"),
        ("document", "alpha letter"),
    ]
    assert body["items"][1]["tags"] == ["post"]
    assert body["items"][1]["ocr_status"] == "pending"
    assert body["total"] == 2


@pytest.mark.parametrize(
    ("sort", "titles"),
    [
        ("title", ["a", "B", "c"]),
        ("-title", ["c", "B", "a"]),
        ("created_at", ["B", "a", "c"]),
        ("-created_at", ["c", "a", "B"]),
        ("updated_at", ["a", "c", "B"]),
        ("-updated_at", ["B", "c", "a"]),
    ],
)
async def test_children_are_sorted_and_paged(
    api: Api, sort: str, titles: list[str]
) -> None:
    ada = api.log.register("ada")
    home = ada.home_folder_id
    b = api.log.upload(ada, "B", folder_id=home)
    api.log.upload(ada, "a", folder_id=home)
    api.log.upload(ada, "c", folder_id=home)
    api.log.add("Document.Tagged", b, {"tag": "touched last"})
    api.project()

    first = await api.get(
        ada, f"/api/folders/{home}/children", {"sort": sort, "page_size": 2}
    )
    second = await api.get(
        ada,
        f"/api/folders/{home}/children",
        {"sort": sort, "page_size": 2, "page": 2},
    )

    shown = [i["title"] for i in first.json()["items"] + second.json()["items"]]
    assert shown == titles
    assert first.json()["total"] == 3


@pytest.mark.parametrize(
    "params",
    [{"sort": "title; DROP TABLE x"}, {"page_size": 101}, {"page": 0}, {"page": "x"}],
)
async def test_bad_listing_parameters_are_unprocessable(
    api: Api, params: dict[str, str | int]
) -> None:
    ada = api.log.register("ada")
    api.project()

    response = await api.get(ada, f"/api/folders/{ada.home_folder_id}/children", params)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_page_can_hold_the_last_folders_and_the_first_documents(
    api: Api,
) -> None:
    ada = api.log.register("ada")
    home = ada.home_folder_id
    for title in ("F1", "F2", "F3"):
        api.log.folder(ada, title, home)
    for title in ("d1", "d2", "d3"):
        api.log.upload(ada, title, folder_id=home)
    api.project()

    pages = [
        await api.get(
            ada, f"/api/folders/{home}/children", {"page_size": 2, "page": page}
        )
        for page in (1, 2, 3, 4)
    ]

    shown = [[i["title"] for i in page.json()["items"]] for page in pages]
    assert shown == [["F1", "F2"], ["F3", "d1"], ["d2", "d3"], []]
    assert {page.json()["total"] for page in pages} == {6}


async def test_a_descending_order_is_the_exact_reverse_ties_included(
    api: Api,
) -> None:
    ada = api.log.register("ada")
    home = ada.home_folder_id
    ids = sorted(str(api.log.upload(ada, "Same", folder_id=home)) for _ in range(3))
    api.project()

    ascending = await api.get(ada, f"/api/folders/{home}/children", {"sort": "title"})
    descending = await api.get(ada, f"/api/folders/{home}/children", {"sort": "-title"})

    assert [i["id"] for i in ascending.json()["items"]] == ids
    assert [i["id"] for i in descending.json()["items"]] == ids[::-1]


async def test_children_leave_out_documents_of_other_users(api: Api) -> None:
    ada = api.log.register("ada")
    bob = api.log.register("bob")
    api.log.upload(ada, "mine", folder_id=ada.home_folder_id)
    api.log.upload(bob, "not mine", folder_id=ada.home_folder_id)
    api.project()

    response = await api.get(ada, f"/api/folders/{ada.home_folder_id}/children")

    body = response.json()
    assert [i["title"] for i in body["items"]] == ["mine"]
    assert body["total"] == 1
