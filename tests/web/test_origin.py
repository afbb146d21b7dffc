"""A state-changing request from another site is refused even with a valid CSRF token (issue 13 item 7):
its `Origin` (or, when a browser sends none, its `Referer`) must be this site, the request's own host or
`PUBLIC_BASE_URL`. Pages answer a 403 with a Chinese message, the API its JSON error; a bearer-token API call
without cookies is exempt (a foreign page cannot make a browser attach a bearer token). Pages send
`Referrer-Policy: same-origin`: with `no-referrer` a browser sends `Origin: null` even from our own forms."""

# ruff: noqa: F811 - csrf_app and ids are fixtures of test_csrf

import pytest

from lovemart.db import unit_of_work
from lovemart.services import users
from tests.web.test_csrf import counts, csrf_app, household_form, ids, signed_in, token_on  # noqa: F401 - fixtures

FOREIGN = "来自其他网站的请求已被拒绝"


def create(client, ids, headers):
    data = household_form(ids, csrf_token=token_on(client, "/households/new"))
    return client.post("/households/new", data=data, headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost.evil.example"},
        {"Origin": "https://localhost"},  # another scheme is another origin
        {"Origin": "http://localhost:8000"},  # and another port
        {"Referer": "http://evil.example/households/new"},
        {"Referer": "//evil.example/households/new"},
        {"Origin": "http://evil.example", "Referer": "http://localhost/households/new"},
    ],
)
def test_a_foreign_origin_is_refused_despite_a_valid_token(csrf_app, ids, headers):
    client = signed_in(csrf_app)
    before = counts(csrf_app)
    answer = create(client, ids, headers)
    assert answer.status_code == 403 and FOREIGN in answer.get_data(as_text=True)
    assert counts(csrf_app) == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://localhost"},
        {"Referer": "http://localhost/households/new"},
        {"Referer": "/households/new"},  # a partial URI names this site
        {},  # neither (an old browser, a script): the CSRF token alone decides
    ],
)
def test_this_sites_own_origin_or_referer_passes(csrf_app, ids, headers):
    client = signed_in(csrf_app)
    assert create(client, ids, headers).status_code == 302


def test_the_public_base_url_is_this_sites_origin_too(csrf_app, ids):
    csrf_app.config["PUBLIC_BASE_URL"] = "https://lovemart.example.cn/"
    client = signed_in(csrf_app)
    assert create(client, ids, {"Origin": "https://lovemart.example.cn"}).status_code == 302


def test_the_api_answers_json_and_a_bearer_call_without_cookies_is_exempt(csrf_app, ids):
    with csrf_app.app_context(), unit_of_work() as session:
        token = users.create_api_token(session, actor=None, user=users.by_username(session, "a-admin"))
    body = {"household_id": ids["a_household"], "text": "化肥", "category": "farming"}
    bearer = {"Authorization": f"Bearer {token}", "Origin": "http://evil.example"}
    assert csrf_app.test_client().post("/api/v1/wishes/", json=body, headers=bearer).status_code == 201
    browser = signed_in(csrf_app)  # carries its session cookie
    refused = browser.post("/api/v1/wishes/", json=body, headers=bearer)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "foreign_origin"


def test_reads_are_not_checked(csrf_app, ids):
    client = signed_in(csrf_app)
    assert client.get("/households/", headers={"Origin": "http://evil.example"}).status_code == 200


def test_pages_send_a_referrer_only_to_this_site(csrf_app, ids):
    assert csrf_app.test_client().get("/login").headers["Referrer-Policy"] == "same-origin"
