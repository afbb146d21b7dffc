"""Sign-in and sign-out, the `next` redirect, password change, throttling, the session cookie, and which
role may reach which page."""

from contextlib import contextmanager

import pytest
from sqlalchemy import select

from lovemart.db import db, unit_of_work
from lovemart.models import AuditEvent, Household, User
from lovemart.services import users
from lovemart.web.navigation import safe_path
from tests.conftest import PASSWORD
from tests.factories import make_two_villages

NEW_PASSWORD = "new-password-456"


@pytest.fixture
def ids(app):
    with app.app_context():
        return make_two_villages()


@contextmanager
def fresh_session(app):
    """A session of its own, like the next request would have (never the one a request restricted)."""
    with app.app_context():
        yield db.session
        db.session.remove()


def sign_in(client, username, password=PASSWORD, **extra):
    return client.post("/login", data={"username": username, "password": password, **extra})


def user_row(app, username) -> User:
    with fresh_session(app) as session:
        user = session.scalar(select(User).where(User.username == username))
        session.expunge(user)
        return user


# --- sign-in and sign-out ------------------------------------------------------------------------------


def test_sign_in_sets_a_protected_cookie_and_lands_on_the_users_village(client, ids):
    login_page = client.get("/login")
    assert login_page.status_code == 200
    assert "爱心超市积分管理系统" in login_page.get_data(as_text=True)

    response = sign_in(client, "a-admin")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1
    attributes = {part.strip().lower() for part in cookies[0].split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes

    home = client.get("/")
    assert home.status_code == 200
    text = home.get_data(as_text=True)
    assert "a村" in text and "宜川县" in text and "退出" in text


def test_wrong_credentials_are_refused_with_one_message(client, ids):
    for username, password in [("a-admin", "wrong-password"), ("nobody", PASSWORD), ("A-ADMIN", PASSWORD)]:
        response = sign_in(client, username, password)
        assert response.status_code == 200, username
        assert "用户名或密码不正确" in response.get_data(as_text=True)
        assert client.get("/").status_code == 302  # still signed out
    empty = sign_in(client, "a-admin", "")
    assert empty.status_code == 200 and client.get("/").status_code == 302


def test_inactive_user_cannot_sign_in(app, client, ids):
    with app.app_context(), unit_of_work() as session:
        users.set_active(session, actor=None, user_id=users.by_username(session, "a-admin").id, active=False)
    response = sign_in(client, "a-admin")
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert client.get("/households/").status_code == 302


def test_sign_out_ends_the_session(client, ids):
    assert sign_in(client, "a-admin").status_code == 302
    assert client.get("/households/").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "您已退出登录" in client.get("/login").get_data(as_text=True)
    after = client.get("/households/")
    assert after.status_code == 302
    assert after.headers["Location"].startswith("/login")


def test_anonymous_is_sent_to_login_from_every_page(client, ids):
    detail = client.get(f"/households/{ids['a_household']}")
    assert detail.status_code == 302
    assert detail.headers["Location"] == f"/login?next=%2Fhouseholds%2F{ids['a_household']}"
    for path in [
        "/",
        "/households/",
        "/households/new",
        "/households/export.xlsx",
        "/admin/villages",
        "/admin/users",
        "/password",
    ]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path
    posted = client.post(f"/households/{ids['a_household']}/active", data={"active": "0"})
    assert posted.status_code == 302 and posted.headers["Location"].startswith("/login")


def test_next_returns_to_a_page_of_this_site_only(client, ids):
    evil = sign_in(client, "a-admin", next="//evil.example/households/")
    assert evil.status_code == 302 and evil.headers["Location"] == "/"
    client.post("/logout")
    good = sign_in(client, "a-admin", next="/households/?q=%E5%BC%A0")
    assert good.status_code == 302
    assert good.headers["Location"] == "/households/?q=%E5%BC%A0"
    language = client.get("/lang/en?next=https://evil.example/")
    assert language.status_code == 302 and language.headers["Location"] == "/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "http://evil.example/households/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example/",
        "/\n/evil.example/",
        " //evil.example/",
        "https:evil.example",
        "javascript:alert(1)",
        "households/",
        "",
        None,
    ],
)
def test_safe_path_refuses_anything_but_a_local_path(target):
    assert safe_path(target) is None


@pytest.mark.parametrize("target", ["/", "/households/", "/households/3?q=%E5%BC%A0&page=2", "/admin/users"])
def test_safe_path_keeps_local_paths(target):
    assert safe_path(target) == target


# --- password change ---------------------------------------------------------------------------------


def change_password(client, old, new, confirm=None):
    return client.post(
        "/password", data={"old_password": old, "new_password": new, "confirm": confirm or new}
    )


def test_password_change_refusals_change_nothing(app, login, ids):
    before = user_row(app, "a-admin")
    client = login("a-admin")
    for old, new, confirm, message in [
        ("not-my-password", NEW_PASSWORD, NEW_PASSWORD, "原密码不正确"),
        (PASSWORD, "short", "short", "8"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "两次输入的密码不一致"),
    ]:
        response = change_password(client, old, new, confirm)
        assert response.status_code == 200, message
        assert message in response.get_data(as_text=True)
    after = user_row(app, "a-admin")
    assert after.password_hash == before.password_hash
    assert after.session_version == before.session_version
    assert client.get("/households/").status_code == 200  # still signed in
    with fresh_session(app) as session:
        assert session.query(AuditEvent).filter_by(tag="user:password:change").count() == 0


def test_password_change_signs_out_every_other_session(app, login, ids):
    before = user_row(app, "a-admin")
    this_device, other_device = login("a-admin"), login("a-admin")
    response = change_password(this_device, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "密码已修改" in this_device.get("/").get_data(as_text=True)

    assert this_device.get("/households/").status_code == 200  # this one stays signed in
    refused = other_device.get("/households/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")

    after = user_row(app, "a-admin")
    assert after.session_version == before.session_version + 1
    assert after.password_hash != before.password_hash and NEW_PASSWORD not in after.password_hash
    with fresh_session(app) as session:
        event = session.query(AuditEvent).filter_by(tag="user:password:change").one()
        assert event.actor_name == "a-admin" and event.subject_id == after.id
        assert NEW_PASSWORD not in str(event.data) and PASSWORD not in str(event.data)

    assert "用户名或密码不正确" in sign_in(other_device, "a-admin", PASSWORD).get_data(as_text=True)
    assert sign_in(other_device, "a-admin", NEW_PASSWORD).status_code == 302


# --- throttling ------------------------------------------------------------------------------------------


def test_sign_in_is_throttled_after_five_attempts_a_minute(client, ids):
    for _ in range(5):
        assert sign_in(client, "a-admin", "guess-again").status_code == 200
    response = sign_in(client, "a-admin")  # even the right password, once throttled
    assert response.status_code == 429
    text = response.get_data(as_text=True)
    assert "尝试次数过多，请稍后再试" in text
    assert "Retry-After" in response.headers
    assert client.get("/").status_code == 302  # not signed in
    assert client.get("/login").status_code == 200  # reading the form is not throttled


# --- roles against pages -----------------------------------------------------------------------------

READERS = ("a-admin", "a-supervisor", "a-leader", "county")


def _pages(ids) -> dict[str, str]:
    h = ids["a_household"]
    return {
        "home": "/",
        "password": "/password",
        "households": "/households/",
        "detail": f"/households/{h}",
        "new": "/households/new",
        "edit": f"/households/{h}/edit",
        "member": f"/households/{h}/members/new",
        "import": "/households/import",
        "export": "/households/export.xlsx",
        "villages": "/admin/villages",
        "village_new": "/admin/villages/new",
        "village_edit": f"/admin/villages/{ids['a']}",
        "users": "/admin/users",
        "user_new": "/admin/users/new",
    }


def _expected(username: str) -> dict[str, int]:
    read = {"home": 200, "password": 200, "households": 200, "detail": 200, "export": 200}
    write = {"new": 200, "edit": 200, "member": 200, "import": 200}
    admin = {"villages": 200, "village_new": 200, "village_edit": 200, "users": 200, "user_new": 200}
    if username == "sysadmin":
        return {**dict.fromkeys(read | write, 403), "home": 302, "password": 200, **admin}  # home → admin
    if username == "a-admin":
        return {**read, **write, **dict.fromkeys(admin, 403)}
    return {**read, **dict.fromkeys(write | admin, 403)}


def test_each_role_reaches_exactly_its_pages(login, ids):
    for username in (*READERS, "sysadmin"):  # five sign-ins: exactly the throttle's allowance
        client = login(username)
        seen = {}
        for name, path in _pages(ids).items():
            response = client.get(path)
            seen[name] = response.status_code
            if response.status_code == 302:
                assert response.headers["Location"] == "/admin/villages"
            if response.status_code == 403:
                assert "您没有权限执行此操作" in response.get_data(as_text=True)
        assert seen == _expected(username), username


def test_read_only_roles_cannot_write_households(app, login, ids):
    with fresh_session(app) as session:
        group_id = session.scalar(select(Household.group_id).where(Household.id == ids["a_household"]))
    for username in ("a-supervisor", "a-leader", "county"):
        client = login(username)
        created = client.post(
            "/households/new",
            data={
                "number": "X1",
                "group_id": group_id,
                "status": "general",
                "head_name": "赵六",
                "head_gender": "male",
            },
        )
        moved = client.post(f"/households/{ids['a_household']}/active", data={"active": "0"})
        edited = client.post(
            f"/households/{ids['a_household']}/edit",
            data={"number": "X2", "group_id": group_id, "status": "poor"},
        )
        member = client.post(
            f"/households/{ids['a_household']}/members/new",
            data={"name": "赵七", "relation": "child", "gender": "male"},
        )
        assert [r.status_code for r in (created, moved, edited, member)] == [403] * 4, username
    with fresh_session(app) as session:
        assert session.query(Household).count() == 2
        household = session.get(Household, ids["a_household"])
        assert household.active and household.number != "X2" and household.status == "general"
        assert len(household.members) == 2
        assert (
            session.query(AuditEvent).filter(AuditEvent.tag.like("household:%")).count() == 2
        )  # the factory's


def test_village_admin_cannot_create_users_or_villages(app, login, ids):
    client = login("a-admin")
    user = client.post(
        "/admin/users/new",
        data={"username": "sneaky", "role": "sysadmin", "village_id": 0, "password": "x" * 12},
    )
    village = client.post(
        "/admin/villages/new",
        data={
            "county_code": "c",
            "county_name": "c",
            "township_name": "t",
            "code": "zz",
            "name": "z",
            "groups": "一组",
        },
    )
    deactivate = client.post(f"/admin/users/{user_row(app, 'b-admin').id}/active/0")
    assert (user.status_code, village.status_code, deactivate.status_code) == (403, 403, 403)
    assert user_row(app, "b-admin").active
    with fresh_session(app) as session:
        assert session.scalar(select(User).where(User.username == "sneaky")) is None
        assert session.query(AuditEvent).filter_by(tag="village:village:create").count() == 2  # a and b
