"""Two app servers (gunicorn, separate instance folders) on one PostgreSQL and one Redis, as a county runs
them behind nginx (docs/deploy.md): whatever one server knows, the other knows.

- a photo uploaded through one is served by the other (FILE_STORAGE=database);
- a villager's rate limit and the sign-in throttle count requests to both together (Redis, the database);
- a staff session signed out on one is dead on the other (sessions kept in the database, one SECRET_KEY);
- the redemption race and the idempotency race of tests/load, split between both, give the same exact
  results as against one server;
- server A killed (SIGKILL) again and again while a counter's redemptions go to A and B in turn: nothing
  acknowledged is lost, nothing is doubled.

Needs PostgreSQL and Redis: skipped with the reason on a machine without them, a failure in CI (CI=true).

Shown to fail against broken sharing (2026-12-03, reverted after): with RATELIMIT_STORAGE_URI=memory:// for
both servers the villager's limit let through twice its budget (each server, each worker counted alone),
and with FILE_STORAGE=directory server B answered 404 for server A's photo.
"""

import io

import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from tests.conftest import _postgres_reachable
from tests.figures import record
from tests.load.conftest import _database, _drop
from tests.load.test_crash import Stream, nothing_acknowledged_lost, stream_with_kills
from tests.load.test_idempotency_race import BALANCE as IDEM_BALANCE
from tests.load.test_idempotency_race import PRICE as IDEM_PRICE
from tests.load.test_idempotency_race import STOCK as IDEM_STOCK
from tests.load.test_idempotency_race import each_key_once
from tests.load.test_redeem_race import BALANCE, CASES, PRICE, race
from tests.load.two_servers import Browser, two_servers
from tests.shared_state import redis_or_skip, unavailable

pytestmark = pytest.mark.load

CARD_BUDGET = 6


@pytest.fixture
def pair(tmp_path):
    """`pair(balance=…, price=…, stock=…, **env)` → servers A and B, started, over one fresh database."""
    unavailable(_postgres_reachable())
    redis_or_skip()
    started = []

    def make(*, balance=1000, price=7, stock=100, **env):
        url = _database("postgresql", tmp_path)
        servers = two_servers(url, tmp_path, balance=balance, price=price, stock=stock, **env)
        for served in servers:
            served.start()
            started.append(served)
        return servers

    yield make
    for served in started:
        served.stop()
    if started:
        _drop(started[0].url)


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(out, format="JPEG")
    return out.getvalue()


def _scalar(served, sql: str):
    engine = create_engine(served.url)
    with engine.connect() as conn:
        found = conn.execute(text(sql)).scalar()
    engine.dispose()
    return found


def test_a_photo_uploaded_through_one_is_served_by_the_other(pair):
    a, b = pair()
    staff = Browser()
    assert staff.sign_in(a, "counter").status == 302
    form = staff.get(a, "/goods/products/new")
    zone = _scalar(a, "SELECT id FROM zones ORDER BY id LIMIT 1")
    fields = {"csrf_token": form.csrf(), "name": "香皂", "zone_id": zone, "unit": "块", "points_price": 3}
    created = staff.post(
        a, "/goods/products/new", {**fields, "low_stock": 1, "active": "y"}, {"photo": ("soap.jpg", _photo())}
    )
    assert created.status == 302, created.text[:2000]
    name = _scalar(a, "SELECT photo FROM products WHERE name = '香皂'")
    assert name and len(name) == 32

    on_b = staff.get(b, f"/photos/{name}")
    assert on_b.status == 200 and on_b.headers["Content-Type"] == "image/jpeg"
    assert on_b.body == staff.get(a, f"/photos/{name}").body
    with Image.open(io.BytesIO(on_b.body)) as image:
        assert image.size == (64, 48)
    assert not (a.instance / "photos").exists() and not (b.instance / "photos").exists()


def test_a_villagers_rate_limit_holds_across_both(pair):
    a, b = pair(CARD_PAGE_RATE_LIMIT=f"{CARD_BUDGET} per minute")
    phone = Browser()
    statuses = [phone.get((a, b)[n % 2], f"/c/{a.card_token}").status for n in range(2 * CARD_BUDGET)]
    record("two servers: villager rate limit", {"budget": CARD_BUDGET, "statuses": statuses})
    assert statuses[:CARD_BUDGET] == [303] * CARD_BUDGET
    assert statuses[CARD_BUDGET:] == [429] * CARD_BUDGET  # both servers refuse: the count is shared


def test_the_sign_in_throttle_holds_across_both(pair):
    a, b = pair()
    attempts = [Browser().sign_in((a, b)[n % 2], "counter", "wrong password") for n in range(5)]
    assert [answer.status for answer in attempts] == [200] * 5  # the form again, with its error
    for served in (a, b):  # the right password no longer helps on either server
        refused = Browser().sign_in(served, "counter")
        assert refused.status == 429 and "密码错误次数太多" in refused.text


def test_a_session_signed_out_on_one_is_dead_on_the_other(pair):
    a, b = pair()
    staff = Browser()
    assert staff.sign_in(a, "counter").status == 302
    page = staff.get(b, "/goods/")
    assert page.status == 200  # signed in on A, known on B
    stolen = dict(staff.cookies)  # a copy of the cookie, taken before signing out
    assert staff.post(b, "/logout", {"csrf_token": page.csrf()}).status == 302
    for served in (a, b):
        assert staff.get(served, "/goods/").status == 302
        assert Browser(cookies=dict(stolen)).get(served, "/goods/").status == 302  # to the sign-in page


@pytest.mark.parametrize(("stock", "expected", "balance_after"), CASES)
def test_the_redemption_race_split_across_both_gives_the_same_result(pair, stock, expected, balance_after):
    a, b = pair(balance=BALANCE, price=PRICE, stock=stock)
    label = f"redeem race two servers stock {stock}"
    race(a, b, stock=stock, expected=expected, balance_after=balance_after, label=label)


def test_the_idempotency_race_split_across_both_gives_the_same_result(pair):
    a, b = pair(balance=IDEM_BALANCE, price=IDEM_PRICE, stock=IDEM_STOCK)
    each_key_once(a, b, label="idempotency two servers")


def test_a_server_killed_mid_redemption_loses_nothing_acknowledged(pair):
    a, b = pair(balance=100_000, price=1, stock=100_000)
    stream = Stream(a, b)
    kills = stream_with_kills(stream, a)
    record(
        "crash of one of two servers",
        {
            "kills": kills,
            "cut off and retried": stream.cut_off,
            "acknowledged": len(stream.acknowledged),
            "5xx": sum(status >= 500 for status in stream.statuses),
        },
    )
    a.stop()
    b.stop()
    nothing_acknowledged_lost(stream, a, kills)
