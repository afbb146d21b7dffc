"""Sessions end on the server: a copy of the cookie is worthless after signing out, after the user is
deactivated, and (in other browsers) after a password change."""

import pytest

from lovemart.authz import Role
from tests.conftest import PASSWORD
from tests.factories import make_user, make_village


@pytest.fixture
def users(app):
    with app.app_context():
        make_village("a")
        make_user("a-admin", Role.ADMIN, "a")
        make_user("sysadmin", Role.SYSADMIN)


def copy_of(app, client):
    """A second browser holding a copy of the first one's cookies (as someone who stole them would)."""
    thief = app.test_client()
    for cookie in client._cookies.values():
        thief.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return thief


def test_sign_out_kills_copies_of_the_cookie(app, login, users):
    admin = login("a-admin")
    thief = copy_of(app, admin)
    assert thief.get("/households/").status_code == 200
    admin.post("/logout")
    response = thief.get("/households/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_deactivating_a_user_ends_their_sessions(app, login, users):
    admin = login("a-admin")
    assert admin.get("/households/").status_code == 200
    from lovemart.db import unit_of_work
    from lovemart.services import users as user_service

    with app.app_context(), unit_of_work() as session:
        user_service.set_active(
            session, actor=None, user_id=user_service.by_username(session, "a-admin").id, active=False
        )
    assert admin.get("/households/").status_code == 302


def test_a_password_change_signs_out_the_other_browsers_only(app, login, users):
    here, elsewhere = login("a-admin"), login("a-admin")
    response = here.post(
        "/password",
        data={"old_password": PASSWORD, "new_password": "another-pass-1", "confirm": "another-pass-1"},
    )
    assert response.status_code == 302
    assert here.get("/households/").status_code == 200
    assert elsewhere.get("/households/").status_code == 302
