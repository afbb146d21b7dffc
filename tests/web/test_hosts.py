"""The Host header (issue 13 item 5): the site answers only to the host names it is configured for
(`ALLOWED_HOSTS`, by default the loopback names, and the host of `PUBLIC_BASE_URL`), with any port, so a
forged `Host: evil.example` can never print a card's QR link to another site; it gets a clear 400."""

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix

from lovemart.db import db
from lovemart.models import Card
from tests.conftest import PASSWORD
from tests.factories import make_two_villages
from tests.points_helpers import carded_household


@pytest.fixture
def card(app) -> int:
    with app.app_context():
        ids = make_two_villages()
        household, _ = carded_household(ids["a"])
        card_id = db.session.query(Card.id).filter_by(household_id=household).scalar()
        db.session.remove()
    return card_id


def test_a_foreign_host_is_a_400_and_never_reaches_a_page(login, card):
    admin = login("a-admin")
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example"):
        page = admin.get(f"/cards/{card}", headers={"Host": host})
        assert page.status_code == 400, host
        html = page.get_data(as_text=True)
        assert "不接受这个网址" in html and "evil.example" not in html
        assert "/c/" not in html
    api = admin.get("/api/v1/households/", headers={"Host": "evil.example"})
    assert api.status_code == 400
    assert api.get_json()["error"]["code"] == "unknown_host"


def signed_in(app, host: str):
    """A browser on `host` (cookies belong to the host they were set by), signed in as a-admin."""
    client = app.test_client()
    response = client.post(
        "/login", data={"username": "a-admin", "password": PASSWORD}, base_url=f"http://{host}"
    )
    assert response.status_code == 302, host
    return client


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8000", "localhost:5000", "[::1]:8000", "LocalHost"])
def test_the_loopback_names_work_out_of_the_box_on_any_port(app, card, host):
    page = signed_in(app, host).get(f"/cards/{card}", base_url=f"http://{host}")
    assert page.status_code == 200
    assert f'href="http://{host.lower()}/c/' in page.get_data(as_text=True).lower()


def test_the_public_base_urls_host_is_accepted_and_its_address_printed(app, card):
    app.config["PUBLIC_BASE_URL"] = "https://lovemart.example.cn"
    for host in ("lovemart.example.cn", "localhost:8000"):
        page = signed_in(app, host).get(f"/cards/{card}", base_url=f"http://{host}")
        assert page.status_code == 200
        assert 'href="https://lovemart.example.cn/c/' in page.get_data(as_text=True)
    assert app.test_client().get("/login", headers={"Host": "evil.example"}).status_code == 400


def test_allowed_hosts_replaces_the_loopback_names(app, client):
    app.config["ALLOWED_HOSTS"] = ("shop.yichuan.example",)
    assert client.get("/healthz", headers={"Host": "shop.yichuan.example:8443"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "localhost"}).status_code == 400


def test_behind_a_proxy_the_forwarded_host_is_the_one_checked(app, client):
    app.config["PUBLIC_BASE_URL"] = "https://lovemart.example.cn"
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    forwarded = {"Host": "127.0.0.1:8000", "X-Forwarded-Proto": "https"}
    assert (
        client.get("/healthz", headers=forwarded | {"X-Forwarded-Host": "lovemart.example.cn"}).status_code
        == 200
    )
    assert client.get("/healthz", headers=forwarded | {"X-Forwarded-Host": "evil.example"}).status_code == 400


def test_the_environment_sets_the_allowed_hosts(monkeypatch, tmp_path):
    from lovemart import create_app

    monkeypatch.setenv("ALLOWED_HOSTS", " shop.example , 10.0.0.5 ")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://lovemart.example.cn")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "k" * 32})
    assert app.config["ALLOWED_HOSTS"] == ("shop.example", "10.0.0.5")
    client = app.test_client()
    for host, status in (
        ("shop.example", 200),
        ("10.0.0.5:8000", 200),
        ("lovemart.example.cn", 200),
        ("a.b", 400),
    ):
        assert client.get("/healthz", headers={"Host": host}).status_code == status, host
