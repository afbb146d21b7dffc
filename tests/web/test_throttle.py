"""Sign-in throttling in the database (`lovemart.services.throttle`): it holds across workers (two app
instances on one database stand for two gunicorn workers), refuses even the right password while blocked,
lifts after the window, and cannot be turned into a weapon: an attacker hammering one user from one address
(or from many) never locks the real user at another address out."""

from datetime import timedelta

import pytest

from lovemart import create_app
from lovemart.authz import Role
from lovemart.db import db, unit_of_work, utcnow
from lovemart.services import throttle
from tests.conftest import PASSWORD, _config
from tests.factories import make_user, make_village

ATTACKER, USER = "6.6.6.6", "10.1.1.1"


@pytest.fixture
def account(app):
    with app.app_context():
        make_village("a")
        make_user("a-admin", Role.ADMIN, "a")


def sign_in(client, address: str, password: str = "wrong-password"):  # noqa: S107 - a test's wrong one
    client.environ_base["REMOTE_ADDR"] = address
    return client.post("/login", data={"username": "a-admin", "password": password})


def fail(app, times: int, *, address: str, username: str = "a-admin", now=None) -> None:
    with app.app_context(), unit_of_work() as session:
        for _ in range(times):
            throttle.failed(session, username=username, address=address, now=now)


def blocked(app, address: str, username: str = "a-admin"):
    with app.app_context():
        try:
            return throttle.blocked(db.session, username=username, address=address)
        finally:
            db.session.remove()


def test_one_address_is_blocked_for_a_user_and_the_count_holds_across_workers(app, account, tmp_path):
    other = create_app(_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path))  # a second worker
    for worker in (app, other):
        worker.config["LOGIN_RATE_LIMIT"] = "100 per minute"  # the per-process limiter is not under test
    first, second = app.test_client(), other.test_client()
    for n in range(throttle.PAIR_LIMIT):
        assert sign_in(first if n % 2 else second, ATTACKER).status_code == 200
    refused = sign_in(second, ATTACKER, PASSWORD)
    assert refused.status_code == 429 and "15 分钟后再试" in refused.get_data(as_text=True)
    with other.app_context():
        db.engine.dispose()


def test_an_attacker_at_one_address_cannot_lock_out_the_user_at_another(app, account):
    attacker = app.test_client()
    for _ in range(throttle.PAIR_LIMIT):
        sign_in(attacker, ATTACKER)
    assert sign_in(attacker, ATTACKER, PASSWORD).status_code == 429  # the attacker is held
    user = app.test_client()
    answer = sign_in(user, USER, PASSWORD)
    assert answer.status_code == 302, answer.get_data(
        as_text=True
    )  # the user is in, while the attack goes on
    assert sign_in(attacker, ATTACKER, PASSWORD).status_code == 429


def test_the_user_still_gets_in_while_many_addresses_hammer_at_a_slow_pace(app, account):
    """Many addresses together reach the user's overall limit: from then on one attempt a minute, for
    everyone; the real user, trying again after that minute, gets in."""
    long_ago = utcnow() - throttle.PACE - timedelta(seconds=1)
    for n in range(throttle.USER_LIMIT // throttle.PAIR_LIMIT):
        fail(app, throttle.PAIR_LIMIT, address=f"66.0.0.{n}", now=long_ago)
    assert blocked(app, USER) is None  # the last failure is over a minute old: one attempt is free
    fail(app, 1, address="66.0.1.1")  # an attacker's attempt takes it
    assert blocked(app, USER) == throttle.Wait.PACE
    refused = sign_in(app.test_client(), USER, PASSWORD)
    assert refused.status_code == 429 and "1 分钟后再试" in refused.get_data(as_text=True)
    later = utcnow() + throttle.PACE + timedelta(seconds=1)
    with app.app_context():
        assert throttle.blocked(db.session, username="a-admin", address=USER, now=later) is None


def test_below_the_overall_limit_failures_from_many_addresses_lock_no_one(app, account):
    for n in range(throttle.USER_LIMIT // throttle.PAIR_LIMIT - 1):
        fail(app, throttle.PAIR_LIMIT, address=f"66.0.0.{n}")
    assert blocked(app, USER) is None
    assert sign_in(app.test_client(), USER, PASSWORD).status_code == 302


def test_the_block_lifts_after_the_window_and_success_clears_its_own_address(app, account):
    past = utcnow() - throttle.WINDOW - timedelta(seconds=1)
    fail(app, throttle.PAIR_LIMIT, address=USER, now=past)
    assert blocked(app, USER) is None
    fail(app, throttle.PAIR_LIMIT - 1, address=USER)
    fail(app, throttle.PAIR_LIMIT, address=ATTACKER)
    with app.app_context(), unit_of_work() as session:
        throttle.succeeded(session, username="a-admin", address=USER)
    fail(app, 1, address=USER)
    assert blocked(app, USER) is None
    assert blocked(app, ATTACKER) == throttle.Wait.WINDOW  # the user's success does not free the attacker


def test_one_address_guessing_many_names_is_blocked(app, account):
    for n in range(throttle.ADDRESS_LIMIT):
        fail(app, 1, username=f"guess{n}", address=ATTACKER)
    assert blocked(app, ATTACKER, "someone-new") == throttle.Wait.WINDOW
    assert blocked(app, USER, "someone-new") is None
