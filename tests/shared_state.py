"""The services several app servers share besides PostgreSQL: the test Redis. A test that needs it skips
with the reason when it is unreachable on a developer's machine, but fails in CI (CI=true), where
`.ci/run` starts it: a skipped multi-server test there would pass for a proof it is not."""

import os

import pytest

REDIS_URL = os.environ.get("LOVEMART_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str | None) -> None:
    """Skip with `reason` (or, in CI, fail with it); nothing when `reason` is None."""
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: .ci/run should have started it)", pytrace=False)
    pytest.skip(reason)


def redis_reachable() -> str | None:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
        return None
    except redis.RedisError as error:
        return f"Redis not reachable at {REDIS_URL}: {error}"


def redis_or_skip() -> None:
    unavailable(redis_reachable())
