"""The audit log and the signals pages: supervisor and leader read their own village's, filtered."""

import pytest

from lovemart.authz import Role
from tests.factories import make_household, make_user, make_village


@pytest.fixture
def ids(app):
    with app.app_context():
        a, b = make_village("a"), make_village("b")
        make_user("a-admin", Role.ADMIN, "a")
        make_user("a-supervisor", Role.SUPERVISOR, "a")
        make_user("a-leader", Role.LEADER, "a")
        make_user("b-supervisor", Role.SUPERVISOR, "b")
        make_household(a, head="张三", number="A1")
        make_household(b, head="李四", number="B1")
    return {"a": a, "b": b}


def test_supervisor_reads_and_filters_the_log(login, ids):
    admin = login("a-admin")
    response = admin.post(
        "/households/new",
        data={"number": "A2", "group_id": 1, "status": "general", "head_name": "王五", "head_gender": "male"},
    )
    supervisor = login("a-supervisor")
    page = supervisor.get("/audit/").get_data(as_text=True)
    assert "新建农户" in _visible(page)
    assert page.count("<tr>") >= 2
    only_points = supervisor.get("/audit/?kind=points").get_data(as_text=True)
    assert "新建农户" not in _visible(only_points)
    system = supervisor.get("/audit/?person=system").get_data(as_text=True)
    assert "新建农户" in _visible(system)  # the factories write as the system
    assert response.status_code in (200, 302)


def test_event_detail_and_other_villages(login, ids):
    supervisor = login("a-supervisor")
    page = supervisor.get("/audit/").get_data(as_text=True)
    import re

    event_id = int(re.search(r'href="/audit/(\d+)"', page).group(1))
    assert supervisor.get(f"/audit/{event_id}").status_code == 200
    assert login("b-supervisor").get(f"/audit/{event_id}").status_code == 404
    assert "李四" not in page


def test_signals_page_and_permissions(login, ids):
    assert login("a-leader").get("/audit/signals").status_code == 200
    html = login("a-supervisor").get("/audit/signals?first=2026-01-01&last=2026-12-31").get_data(as_text=True)
    assert "给自己家记分" in html and "兑换量异常" in html
    assert login("a-admin").get("/audit/").status_code == 403
    assert login("a-admin").get("/audit/signals").status_code == 403


def test_signals_page_lists_quiet_households_with_a_link_to_each(login, app):
    from datetime import timedelta

    from lovemart.db import utcnow
    from tests.points_helpers import carded_household

    with app.app_context():
        village = make_village("a")
        make_user("a-supervisor", Role.SUPERVISOR, "a")
        quiet, _ = carded_household(village, at=utcnow() - timedelta(days=70), head="王五")
        carded_household(village, head="赵六")
    html = login("a-supervisor").get("/audit/signals").get_data(as_text=True)
    section = html[html.index('id="quiet"') :]
    assert f'href="/households/{quiet}"' in section and "王五" in section and "已 70 天" in section
    assert "赵六" not in section


def _visible(html: str) -> str:
    """The text a reader sees: no tags, no attributes, no raw-record <details>, no filter choices."""
    import re

    html = re.sub(r"<(details|select)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_the_log_after_a_village_journey_reads_in_plain_chinese(login, app, monkeypatch):
    import re

    from lovemart.services import notices
    from lovemart.services.audit import AuditTag
    from tests.journey import live

    with app.app_context():
        a = live("a", "甲", lambda moment: monkeypatch.setattr(notices, "utcnow", lambda: moment))
        live("b", "乙", lambda moment: monkeypatch.setattr(notices, "utcnow", lambda: moment))
    supervisor = login("a-supervisor")
    pages = [supervisor.get(f"/audit/?page={n}").get_data(as_text=True) for n in (1, 2, 3)]
    html = "".join(pages)
    text = _visible(html)
    for tag in AuditTag:
        assert tag.value not in text
    assert not re.search(r"\b(Household|StockMovement|Redemption|LedgerEntry|User|Product) \d+", text)
    for name in ("新建农户", "商品入库", "兑换商品", "发布公示", "记积分"):
        assert name in text, name
    assert "a01 户 · 户主 甲张三" in text and "甲大米" in text and "甲supervisor" in text.replace(" ", "")
    assert f'href="/households/{a.household}"' in html and f'href="/goods/products/{a.product}"' in html
    assert "乙" not in text
    # the detail of a stock-in: labelled fields, the product named, the raw code one click away
    stock_in = re.search(r'<a href="/audit/(\d+)">[^<]*</a></td>\s*<td[^>]*>[^<]*</td><td>[^<]*</td>'
                         r'<td title="stock:movement:stock-in"', html)  # fmt: skip
    detail = supervisor.get(f"/audit/{stock_in.group(1)}").get_data(as_text=True)
    shown = _visible(detail)
    assert "商品 × 数量" in shown and "甲大米 × " in shown and "商品入库" in shown
    assert "donation_id" not in shown and "lines" not in shown and "stock:movement" not in shown
    assert "stock:movement:stock-in" in detail  # in the raw record


def test_the_action_filter_offers_the_log_s_names_and_keeps_one_action(login, ids):
    import re

    supervisor = login("a-supervisor")
    page = supervisor.get("/audit/").get_data(as_text=True)
    assert '<option value="stock:movement:stock-in">商品入库</option>' in page
    only = supervisor.get("/audit/?action=household:household:create").get_data(as_text=True)
    rows = re.findall(r'<td title="([a-z-]+:[a-z-]+:[a-z-]+)">', only)
    assert rows and set(rows) == {"household:household:create"} and "A1 户 · 户主 张三" in _visible(only)
    none = supervisor.get("/audit/?action=stock:movement:stock-in").get_data(as_text=True)
    assert "没有符合条件的记录。" in none
