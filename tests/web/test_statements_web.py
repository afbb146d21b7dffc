"""A household's statement pages: on screen with the running balance and period filter, the .xlsx export, and
the printable passbook; every reader of the village may see them, nobody else's household is found."""

import io
import re
from contextlib import contextmanager

import pytest
from openpyxl import load_workbook

from lovemart.db import db, unit_of_work, utcnow
from lovemart.services import points
from lovemart.services.points import VILLAGE_TIMEZONE
from tests.factories import make_two_villages
from tests.points_helpers import carded_household, make_rule


@pytest.fixture
def ids(app):
    with app.app_context():
        ids = make_two_villages()
        ids["h1"], _ = carded_household(ids["a"], head="王大山", number="01001")
        ids["hb"], _ = carded_household(ids["b"], head="钱八", number="01001")
        labour = make_rule(ids["a"], "义务劳动（全天）", "volunteer", 10)
        litter = make_rule(ids["a"], "乱倒垃圾", "deduction", -5)
        with unit_of_work() as session:
            points.award(
                session,
                actor=None,
                village_id=ids["a"],
                household_id=ids["h1"],
                rule_id=labour,
                note="修村道",
            )
            points.award(session, actor=None, village_id=ids["a"], household_id=ids["h1"], rule_id=litter)
        return ids


@pytest.fixture
def login(cached_login):
    return cached_login


@contextmanager
def fresh_session(app):
    with app.app_context():
        yield db.session
        db.session.remove()


def tbody(html: str) -> str:
    return html[html.index("<tbody>") : html.index("</tbody>")]


def test_statement_shows_balance_and_running_balance(app, login, ids):
    html = login("a-admin").get(f"/statements/{ids['h1']}").get_data(as_text=True)
    assert "王大山 户 · 积分明细" in html and "户号 01001" in html
    assert '<strong class="balance" data-balance-shown>105</strong>' in html and "折合 315 元" in html
    assert "公示中" not in html and "待审核" not in html  # nothing held, nothing waiting
    rows = re.findall(r'<td class="num balance-after">(-?\d+)</td>', html)
    assert rows == ["105", "110", "100"]
    body = tbody(html)
    assert body.index("乱倒垃圾") < body.index("义务劳动（全天）") < body.index("发卡基础积分")
    assert "修村道" in body and "+10" in body and "-5" in body
    assert "期初余额 0 分" in html and "期末余额 105 分" in html and "期间：全部" in html
    assert f"/statements/{ids['h1']}/statement.xlsx" in html and f"/statements/{ids['h1']}/print" in html
    assert f"/points/award?household={ids['h1']}" in html
    for label in ("本月", "上月", "今年", "全部"):
        assert f">{label}</a>" in html


def test_household_page_links_to_the_statement(app, login, ids):
    html = login("a-supervisor").get(f"/households/{ids['h1']}").get_data(as_text=True)
    assert f'href="/statements/{ids["h1"]}">积分明细</a>' in html


def test_period_filter_and_paging_keep_the_household(app, login, ids):
    app.config["PAGE_SIZE"] = 2
    admin = login("a-admin")
    today = utcnow().astimezone(VILLAGE_TIMEZONE).date()
    html = admin.get(f"/statements/{ids['h1']}?date_from={today}&date_to={today}").get_data(as_text=True)
    assert f"期间：{today} 至 {today}" in html and "共 3 条" in html and "第 1 / 2 页" in html
    assert f"/statements/{ids['h1']}?date_from={today}&amp;date_to={today}&amp;page=2" in html
    second = admin.get(f"/statements/{ids['h1']}?date_from={today}&date_to={today}&page=2").get_data(
        as_text=True
    )
    assert "发卡基础积分" in tbody(second)
    future = admin.get(f"/statements/{ids['h1']}?date_from=2099-01-01").get_data(as_text=True)
    assert "这段时间没有积分记录。" in future and "期初余额 105 分" in future
    backwards = admin.get(f"/statements/{ids['h1']}?date_from=2099-01-02&date_to=2099-01-01").get_data(
        as_text=True
    )
    assert "结束日期不能早于开始日期。" in backwards and "期间：全部" in backwards


def test_household_without_a_card(app, login, ids):
    html = login("a-admin").get(f"/statements/{ids['a_household']}").get_data(as_text=True)
    assert "该户还没有积分卡，请先发卡。" in html and "statement.xlsx" not in html


def test_export_downloads_an_xlsx(app, login, ids):
    response = login("a-leader").get(f"/statements/{ids['h1']}/statement.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert (
        "attachment" in response.headers["Content-Disposition"]
        and "statement-all.xlsx" in response.headers["Content-Disposition"]
    )
    rows = list(load_workbook(io.BytesIO(response.data), read_only=True).active.iter_rows(values_only=True))
    assert rows[3][:4] == ("期初余额", 0, "期末余额", 105)
    assert [row[4:6] for row in rows[6:]] == [(100, 100), (10, 110), (-5, 105)]


def test_passbook_prints_every_entry_with_opening_and_closing(app, login, ids):
    response = login("a-admin").get(f"/statements/{ids['h1']}/print")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "a村 爱心超市积分存折" in html and "王大山" in html and "01001" in html and "一组" in html
    assert "期初余额" in html and "期末余额（本期 3 笔）" in html and "<strong>105</strong>" in html
    assert "期末余额 105 分，折合 315 元" in html
    body = tbody(html)
    assert body.index("发卡基础积分") < body.index("义务劳动（全天）") < body.index("乱倒垃圾")
    assert "系统" in body  # who recorded it
    assert (
        'class="topbar"' not in html
        and "css/print.css" in html
        and "data-print" in html
        and "js/print.js" in html
    )
    assert "经办人签字" in html and "农户签字" in html


def test_every_reader_of_the_village_sees_statements_and_nobody_else(app, login, ids):
    for username in ("a-admin", "a-supervisor", "a-leader", "county"):
        client = login(username)
        for path in ("", "/print", "/statement.xlsx"):
            assert client.get(f"/statements/{ids['h1']}{path}").status_code == 200, (username, path)
    assert login("sysadmin").get(f"/statements/{ids['h1']}").status_code == 403
    assert app.test_client().get(f"/statements/{ids['h1']}").status_code == 302


def test_another_villages_household_is_not_found(app, login, ids):
    admin = login("a-admin")
    for path in ("", "/print", "/statement.xlsx"):
        response = admin.get(f"/statements/{ids['hb']}{path}")
        assert response.status_code == 404, path
        assert "钱八" not in response.get_data(as_text=True)
