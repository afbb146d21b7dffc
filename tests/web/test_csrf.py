"""CSRF protection as production runs it (the other tests switch it off in `TestConfig`): every form POST
without a valid token is refused with the Chinese 表单已过期 message and writes nothing; the JSON API, which
authenticates by bearer token and never by cookie, needs no token."""

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from lovemart import create_app
from lovemart.db import db, unit_of_work
from lovemart.models import AuditEvent, Household, User, VillagerGroup
from lovemart.services import users
from tests.conftest import PASSWORD, _config, _fresh_url
from tests.factories import make_two_villages

EXPIRED = "表单已过期，请刷新页面后重试。"


@pytest.fixture
def csrf_app(database, tmp_path):
    app = create_app(_config(_fresh_url(database, tmp_path), tmp_path) | {"WTF_CSRF_ENABLED": True})
    app.instance_path = str(tmp_path / "instance")
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def ids(csrf_app):
    with csrf_app.app_context():
        ids = make_two_villages()
        ids["group"] = db.session.scalar(select(VillagerGroup.id).where(VillagerGroup.village_id == ids["a"]))
        return ids


@contextmanager
def fresh_session(app):
    with app.app_context():
        yield db.session
        db.session.remove()


def token_on(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def signed_in(app, username="a-admin"):
    client = app.test_client()
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token_on(client, "/login")}
    )
    assert response.status_code == 302
    return client


def household_form(ids, **extra) -> dict:
    return {
        "number": "C-001",
        "group_id": ids["group"],
        "status": "general",
        "head_name": "赵六",
        "head_gender": "male",
        **extra,
    }


def counts(app) -> tuple[int, int]:
    with fresh_session(app) as session:
        return session.query(Household).count(), session.query(AuditEvent).count()


def test_sign_in_without_a_valid_token_is_refused(csrf_app, ids):
    assert csrf_app.config["WTF_CSRF_ENABLED"] is True
    client = csrf_app.test_client()
    for extra in ({}, {"csrf_token": ""}, {"csrf_token": "forged-token"}):
        response = client.post("/login", data={"username": "a-admin", "password": PASSWORD, **extra})
        assert response.status_code == 302, extra
        assert EXPIRED in client.get("/login").get_data(as_text=True)
        assert client.get("/households/").status_code == 302  # not signed in
    other = csrf_app.test_client()
    stolen = token_on(other, "/login")  # a token from another browser's session is no good either
    response = client.post("/login", data={"username": "a-admin", "password": PASSWORD, "csrf_token": stolen})
    assert response.status_code == 302 and response.headers["Location"] != "/households/"
    assert client.get("/households/").status_code == 302


def test_form_posts_without_a_token_write_nothing(csrf_app, ids):
    client = signed_in(csrf_app)
    before = counts(csrf_app)

    created = client.post("/households/new", data=household_form(ids))
    moved = client.post(f"/households/{ids['a_household']}/active", data={"active": "0"})
    member = client.post(
        f"/households/{ids['a_household']}/members/new",
        data={"name": "赵七", "relation": "child", "gender": "male"},
    )
    for response in (created, moved, member):
        assert response.status_code == 302
    assert counts(csrf_app) == before
    with fresh_session(csrf_app) as session:
        assert session.get(Household, ids["a_household"]).active
    assert EXPIRED in client.get("/").get_data(as_text=True)

    token = token_on(client, "/households/new")
    accepted = client.post("/households/new", data=household_form(ids, csrf_token=token))
    assert accepted.status_code == 302 and accepted.headers["Location"].startswith("/households/")
    assert counts(csrf_app)[0] == before[0] + 1


def test_sign_out_without_a_token_is_refused(csrf_app, ids):
    client = signed_in(csrf_app)
    refused = client.post("/logout")
    assert refused.status_code == 302
    assert client.get("/households/").status_code == 200  # still signed in
    token = token_on(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/households/").status_code == 302


def test_admin_posts_without_a_token_write_nothing(csrf_app, ids):
    client = signed_in(csrf_app, "sysadmin")
    with fresh_session(csrf_app) as session:
        user_id = users.by_username(session, "a-admin").id
    refused = client.post(f"/admin/users/{user_id}/active/0")
    assert refused.status_code == 302
    with fresh_session(csrf_app) as session:
        assert session.get(User, user_id).active


def test_api_post_with_a_bearer_token_needs_no_csrf_token(csrf_app, ids):
    with csrf_app.app_context(), unit_of_work() as session:
        token = users.create_api_token(session, actor=None, user=users.by_username(session, "a-admin"))
    client = csrf_app.test_client()
    response = client.post(
        "/api/v1/households/",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "number": "API-1",
            "group_id": ids["group"],
            "members": [{"name": "钱八", "relation": "head", "gender": "male"}],
        },
    )
    assert response.status_code == 201, response.get_json()
    with fresh_session(csrf_app) as session:
        assert session.scalar(select(Household).where(Household.number == "API-1")) is not None
