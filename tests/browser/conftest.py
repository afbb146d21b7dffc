"""Browser tests: Playwright's sync API driving Debian's Chromium against the app served for real.

The app runs in a background thread (werkzeug, threaded) on 127.0.0.1 and a free port, with CSRF on as in
production, over a SQLite copy of the migrated template database loaded with the demo data (啊道村 and its
neighbour, one account per role). Browser tests run on SQLite only. Everything here is skipped, with the
reason shown by `-ra`, when /usr/bin/chromium is missing. Playwright never downloads a browser here
(`playwright install` is not used): it launches the system Chromium by path.
"""

import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from lovemart import create_app, demo
from lovemart.db import db, unit_of_work
from tests.conftest import _config, _fresh_url, _migrate

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Playwright's default is 30 s; a local page that takes longer is a failure worth seeing quickly.
TIMEOUT_MS = 10_000
#: A small Android phone, and a counter PC.
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 768}
#: Where a failing test leaves a full-page screenshot of each page it had open (ignored by git).
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts"


def pytest_configure(config):
    # pyproject.toml registers it too; registering again is harmless and keeps this folder self-contained.
    config.addinivalue_line("markers", "browser: drives /usr/bin/chromium through Playwright")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so a page fixture knows at teardown that the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def pytest_collection_modifyitems(config, items):
    """Every test under tests/browser/ is a browser test, and is skipped when Chromium is missing."""
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"browser tests need Chromium at {CHROMIUM} (Debian package chromium)")
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(skip)


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    """The app with the demo data, on its own SQLite file (migrated like tests/conftest.py's template), with
    CSRF enabled. One per module: the tests only read, apart from signing in."""
    instance = tmp_path_factory.mktemp("browser-instance")
    template = tmp_path_factory.mktemp("browser-sqlite") / "template.db"
    _migrate(f"sqlite:///{template}", instance)
    url = _fresh_url({"kind": "sqlite", "template": template}, tmp_path_factory.mktemp("browser-db"))
    # A module signs in once per test and role; the sign-in limit is tested in tests/web/test_throttle.py.
    app = create_app(
        _config(url, instance) | {"WTF_CSRF_ENABLED": True, "LOGIN_RATE_LIMIT": "100 per minute"}
    )
    app.instance_path = str(instance / "instance")
    with app.app_context():
        with unit_of_work() as session:
            demo.load(session, scale=0.3)
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def live_server(live_app):
    """The base URL of the app served on 127.0.0.1 at a free port, in a background thread."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="lovemart-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class Requests(list):
    """Every URL the page asked for, in order."""

    def off_host(self, host: str = "127.0.0.1") -> list[str]:
        local = ("data", "blob")
        return [url for url in self if urlsplit(url).scheme not in local and urlsplit(url).hostname != host]


@pytest.fixture
def requests_seen():
    return Requests()


def _new_page(browser, live_server, requests_seen, **context_options):
    context = browser.new_context(base_url=live_server, locale="zh-CN", **context_options)
    context.set_default_timeout(TIMEOUT_MS)
    context.on("request", lambda request: requests_seen.append(request.url))
    return context, context.new_page()


def _close(request, context, size: str) -> None:
    """Close the context, first saving a full-page screenshot of each of its pages when the test failed."""
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTEFACTS.mkdir(exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
        for n, open_page in enumerate(context.pages):
            open_page.screenshot(path=ARTEFACTS / f"{name}-{size}-{n}.png", full_page=True)
    context.close()


@pytest.fixture
def page(request, browser, live_server, requests_seen):
    """A fresh browser context (no cookies) at a counter PC's size (1366×768)."""
    context, page = _new_page(browser, live_server, requests_seen, viewport=DESKTOP)
    yield page
    _close(request, context, "1366")


@pytest.fixture
def phone_page(request, browser, live_server, requests_seen):
    """A fresh browser context the size of a small Android phone (360×740), touch enabled."""
    context, page = _new_page(
        browser,
        live_server,
        requests_seen,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    yield page
    _close(request, context, "360")


@pytest.fixture
def sign_in():
    """`sign_in(page, username)`: fill and submit the real sign-in form with the demo password."""

    def submit(page, username: str, password: str = demo.DEMO_PASSWORD):
        page.goto("/login")
        page.get_by_label("用户名", exact=True).fill(username)
        page.get_by_label("密码", exact=True).fill(password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(lambda url: urlsplit(url).path != "/login")

    return submit
