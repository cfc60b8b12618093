from __future__ import annotations

import asyncio
from uuid import UUID

import httpx
import psycopg

from query_api.positions import WATCHER_NAME
from tests.projectors.events import User
from tests.query_api.conftest import Api


async def test_every_response_carries_the_read_model_position(api: Api) -> None:
    ada = api.log.register("ada")
    api.project()

    me = await api.get(ada, "/api/me")
    missing = await api.get(ada, "/api/folders/00000000-0000-0000-0000-000000000000")
    anonymous = await api.get(None, "/api/me")

    for response in (me, missing, anonymous):
        assert response.headers["Paperledger-Position"] == str(api.log.position)


async def test_a_position_not_reached_in_time_is_a_504(api: Api) -> None:
    ada = api.log.register("ada")
    api.project()
    ahead = api.log.position + 1

    response = await api.get(
        ada, "/api/me", headers={"Paperledger-Position": str(ahead)}
    )

    assert response.status_code == 504
    assert response.json()["detail"] == (
        f"read models have not reached position {ahead} within 0.5 s"
    )


async def test_a_read_waits_until_the_projector_reaches_the_position(api: Api) -> None:
    ada = api.log.register("ada")
    api.project()
    document_id = api.log.upload(ada, "Fresh")
    wanted = str(api.log.position)

    response = await _read_while_projecting(api, ada, document_id, wanted)

    assert response.status_code == 200
    assert response.json()["title"] == "Fresh"
    assert response.headers["Paperledger-Position"] == wanted


async def test_a_position_that_is_not_a_number_is_unprocessable(api: Api) -> None:
    ada = api.log.register("ada")
    api.project()

    for value in ("abc", "-1", "1.5"):
        response = await api.get(
            ada, "/api/me", headers={"Paperledger-Position": value}
        )
        assert response.status_code == 422, value


async def test_a_read_still_waits_for_its_position_while_notifications_are_down(
    api: Api,
) -> None:
    ada = api.log.register("ada")
    api.project()
    document_id = api.log.upload(ada, "Fresh")
    wanted = str(api.log.position)
    with psycopg.connect(api.database_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s",
            (WATCHER_NAME,),
        )

    response = await _read_while_projecting(api, ada, document_id, wanted)

    assert response.status_code == 200
    assert response.json()["title"] == "Fresh"


async def _read_while_projecting(
    api: Api, user: User, document_id: UUID, position: str
) -> httpx.Response:
    """Reads a document at ``position`` while the projector catches up to it."""
    request = asyncio.create_task(
        api.get(
            user,
            f"/api/documents/{document_id}",
            headers={"Paperledger-Position": position},
        )
    )
    await asyncio.sleep(0.1)
    await asyncio.to_thread(api.project)
    return await request
