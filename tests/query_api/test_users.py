from __future__ import annotations

from tests.query_api.conftest import Api


async def test_health_needs_no_token(api: Api) -> None:
    response = await api.get(None, "/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_me_names_the_caller_and_their_folders(api: Api) -> None:
    ada = api.log.register("ada")
    api.project()

    response = await api.get(ada, "/api/me")

    assert response.status_code == 200
    assert response.json() == {
        "id": str(ada.id),
        "name": "ada",
        "home_folder_id": str(ada.home_folder_id),
        "inbox_folder_id": str(ada.inbox_folder_id),
    }


async def test_a_missing_token_is_answered_with_401_and_a_challenge(api: Api) -> None:
    response = await api.get(None, "/api/me")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_wrong_or_revoked_token_is_answered_with_401(api: Api) -> None:
    ada = api.log.register("ada")
    token_id = api.log.issue_token(ada, "plt_revoked")
    api.log.add("User.TokenRevoked", ada.id, {"token_id": str(token_id)})
    api.project()

    for header in ("Bearer plt_unknown", "Bearer plt_revoked", "Basic abc", "Bearer"):
        response = await api.client.get("/api/me", headers={"Authorization": header})
        assert response.status_code == 401, header
