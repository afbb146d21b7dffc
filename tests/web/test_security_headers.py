"""Security headers on every response, and templates that the Content Security Policy does not break:
no inline script, no event-handler attribute, no inline style."""

import re
from pathlib import Path

import pytest

from lovemart.authz import Role
from tests.factories import make_user, make_village

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_no_template_has_inline_script_handlers_or_styles():
    offenders = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        html = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html):
            offenders.append(f"{template.name}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", html):
            offenders.append(f"{template.name}: on…= handler")
        if re.search(r"\sstyle\s*=|<style", html):
            offenders.append(f"{template.name}: inline style")
    assert offenders == []


@pytest.fixture
def signed_in(app, login):
    with app.app_context():
        make_village("a")
        make_user("a-admin", Role.ADMIN, "a")
    return login("a-admin")


def test_every_page_without_arguments_sends_the_headers(app, client, signed_in):
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint == "static":
            continue
        for browser in (client, signed_in):
            response = browser.get(rule.rule)
            csp = response.headers.get("Content-Security-Policy", "")
            assert "script-src 'self'" in csp or "default-src 'none'" in csp, rule.rule
            assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, rule.rule
            for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
                assert directive in csp, (rule.rule, directive)
            assert response.headers["X-Content-Type-Options"] == "nosniff", rule.rule
            assert response.headers["Referrer-Policy"] == "same-origin", rule.rule
            checked += 1
    assert checked > 40


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    assert (
        "max-age" in client.get("/healthz", base_url="https://localhost").headers["Strict-Transport-Security"]
    )


def test_static_files_and_errors_carry_them_too(client):
    for path in ("/static/css/app.css", "/no-such-page"):
        assert client.get(path).headers["X-Content-Type-Options"] == "nosniff"


def test_a_nul_byte_is_refused_before_any_view(app, client):
    with app.app_context():
        make_village("a")
    api = client.post(
        "/api/v1/redemptions/", data='{"card_number": "\\u0000"}', content_type="application/json"
    )
    assert api.status_code == 400 and api.get_json()["error"]["code"] == "control_character"
    page = client.get("/wall/a?q=%00")
    assert page.status_code == 400 and "请求中含有不允许的控制字符。" in page.get_data(as_text=True)
    assert client.get("/wall/a%00").status_code == 404  # matches no route
    assert client.get("/n/%00").status_code == 404
    assert client.get("/wall/a").status_code == 200
