"""The token cache: short-lived, bounded, and deaf to revoked tokens."""

from __future__ import annotations

from uuid import uuid4

from infra.auth import Principal, TokenCache, bearer_token


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _principal() -> Principal:
    return Principal(user_id=uuid4(), name="ada")


def test_a_cached_token_is_forgotten_after_its_seconds() -> None:
    clock = Clock()
    cache = TokenCache(seconds=5, clock=clock)
    ada = _principal()
    cache.put("h", uuid4(), ada)

    clock.now = 4.9
    seen = cache.get("h")
    clock.now = 5.0

    assert (seen, cache.get("h"), len(cache)) == (ada, None, 0)


def test_a_revoked_token_is_dropped_and_never_kept_again() -> None:
    cache = TokenCache()
    token_id = uuid4()
    cache.put("h", token_id, _principal())

    cache.revoke(token_id)

    assert cache.get("h") is None
    assert cache.put("h", token_id, _principal()) is False
    assert cache.get("h") is None


def test_the_cache_keeps_at_most_its_size_dropping_the_oldest() -> None:
    cache = TokenCache(max_size=3)
    for n in range(10):
        cache.put(f"h{n}", uuid4(), _principal())

    assert len(cache) == 3
    assert cache.get("h0") is None
    assert cache.get("h9") is not None


def test_only_well_formed_bearer_headers_give_a_token() -> None:
    assert bearer_token("Bearer plt_abc") == "plt_abc"
    assert bearer_token("bearer plt_abc") == "plt_abc"
    for header in (None, "", "Bearer", "Bearer ", "Basic abc", "Bearer " + "x" * 257):
        assert bearer_token(header) is None
