"""Sign-in throttling in the database: it holds across workers (two app instances on one database stand
for two gunicorn workers), refuses even the right password while blocked, and lifts after the window."""

from datetime import timedelta

import pytest

from lovemart import create_app
from lovemart.authz import Role
from lovemart.db import db, unit_of_work, utcnow
from lovemart.services import throttle
from tests.conftest import PASSWORD, _config
from tests.factories import make_user, make_village


@pytest.fixture
def account(app):
    with app.app_context():
        make_village("a")
        make_user("a-admin", Role.ADMIN, "a")


def wrong(client):
    return client.post("/login", data={"username": "a-admin", "password": "wrong-password"})


def test_failures_counted_by_one_worker_block_the_other(app, account, tmp_path):
    other = create_app(_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path))  # a second worker
    first, second = app.test_client(), other.test_client()
    for n in range(throttle.USER_LIMIT):
        (first if n % 2 else second).environ_base["REMOTE_ADDR"] = f"10.0.0.{n}"
        assert wrong(first if n % 2 else second).status_code == 200
    refused = second.post("/login", data={"username": "a-admin", "password": PASSWORD})
    assert refused.status_code == 429 and "15 分钟后再试" in refused.get_data(as_text=True)
    with other.app_context():
        db.engine.dispose()


def test_the_block_lifts_after_the_window_and_success_clears_it(app, account):
    with app.app_context():
        past = utcnow() - throttle.WINDOW - timedelta(seconds=1)
        with unit_of_work() as session:
            for _ in range(throttle.USER_LIMIT):
                throttle.failed(session, username="a-admin", address="1.2.3.4", now=past)
        assert not throttle.blocked(db.session, username="a-admin", address="1.2.3.4")
        with unit_of_work() as session:
            for _ in range(throttle.USER_LIMIT - 1):
                throttle.failed(session, username="a-admin", address="1.2.3.4")
            throttle.succeeded(session, username="a-admin")
            throttle.failed(session, username="a-admin", address="1.2.3.4")
        assert not throttle.blocked(db.session, username="a-admin", address="1.2.3.4")


def test_one_address_guessing_many_names_is_blocked(app, account):
    with app.app_context():
        with unit_of_work() as session:
            for n in range(throttle.ADDRESS_LIMIT):
                throttle.failed(session, username=f"guess{n}", address="6.6.6.6")
        assert throttle.blocked(db.session, username="someone-new", address="6.6.6.6")
        assert not throttle.blocked(db.session, username="someone-new", address="7.7.7.7")
