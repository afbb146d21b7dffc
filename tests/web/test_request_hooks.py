"""The request hooks do work only for the requests that need it (issue #20): a request that needs nothing
(the bench's empty view) runs no SQL, creates no ORM session and checks no rate limit, while every page
that does need them keeps its village scope, its rate limits and their headers, and its session."""

import pytest
from flask import g

from lovemart import create_app
from lovemart.authz import Role, public
from lovemart.db import db
from lovemart.extensions import limiter
from lovemart.scope import scope_of
from lovemart.web import hooks
from tests.conftest import PASSWORD, _config
from tests.factories import make_user, make_village
from tests.points_helpers import carded_household


@pytest.fixture
def probed(app):
    """The app with two probes: an empty view (as the bench's) and one reporting the request's scope."""
    app.add_url_rule("/probe/empty", "probe_empty", public(lambda: "ok"))
    app.add_url_rule(
        "/probe/scope",
        "probe_scope",
        public(lambda: {"session_before": db.session.registry.has(), "scope": scope_of(db.session)}),
    )
    return app


def test_the_empty_view_runs_no_sql_and_creates_no_orm_session(probed, query_counter):
    client = probed.test_client()
    with query_counter() as statements:
        response = client.get("/probe/empty")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"
    assert statements == []
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Set-Cookie" not in response.headers


def test_a_session_the_page_creates_reads_the_request_scope(probed):
    with probed.app_context():
        village = make_village("a")
        make_village("b")
        make_user("a-admin", Role.ADMIN, "a")
    client = probed.test_client()
    assert client.post("/login", data={"username": "a-admin", "password": PASSWORD}).status_code == 302
    assert client.get("/probe/scope").get_json()["scope"] == [village]
    anonymous = probed.test_client().get("/probe/scope").get_json()
    # created by the page, not by a hook, and scoped all the same: an anonymous reader sees no village
    assert anonymous == {"session_before": False, "scope": []}


def test_the_scope_ends_with_the_request(probed, session):
    """A test (or the CLI) holding the app context sees all villages again after a request in it."""
    probed.test_client().get("/probe/scope")
    assert g.get("village_scope") is None
    assert scope_of(session) is None


def test_the_limiter_check_runs_only_in_the_decorated_views(app):
    names = [getattr(hook, "__name__", "") for hook in app.before_request_funcs[None]]
    assert "_check_request_limit" not in names
    assert "csrf_protect_writes" in names


def test_a_limited_page_still_reports_its_limit(app):
    with app.app_context():
        village = make_village("a")
        _household, token = carded_household(village)
    response = app.test_client().get(f"/c/{token}")
    assert response.status_code == 303
    assert response.headers["X-RateLimit-Limit"] == "60"
    assert response.headers["X-RateLimit-Remaining"] == "59"


def test_a_request_wide_limit_keeps_the_limiter_check(monkeypatch, tmp_path, app):
    monkeypatch.setattr(limiter.limit_manager, "_blueprint_limits", {"county": {"a limit"}})
    assert hooks.limiter_has_request_wide_limits()
    other = create_app(_config(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path))
    names = [getattr(hook, "__name__", "") for hook in other.before_request_funcs[None]]
    assert "_check_request_limit" in names
    with other.app_context():
        db.engine.dispose()


def test_a_session_signed_with_a_fallback_key_still_opens(app):
    with app.app_context():
        make_village("a")
        make_user("a-admin", Role.ADMIN, "a")
    client = app.test_client()
    assert client.post("/login", data={"username": "a-admin", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    app.config["SECRET_KEY_FALLBACKS"] = [app.secret_key]
    app.secret_key = "a-rotated-key"
    assert client.get("/").status_code == 200  # the old cookie, under the fallback key
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/").status_code == 302  # the old key retired: signed out
