"""The county dashboard: every village of the officer's county and no other, ranked by the chosen figure,
exported to .xlsx; the county officer reads and never writes."""

import io

import pytest
from openpyxl import load_workbook

from lovemart.authz import Role
from tests.factories import make_user, make_village
from tests.points_helpers import carded_household, make_rule


@pytest.fixture
def county(app):
    with app.app_context():
        ids = {code: make_village(code) for code in ("a", "b")}
        ids["far"] = make_village("far", county="other")
        ids["jiao"] = make_village("jiao", township="交里乡")  # the county's other township
        for code, households in (("a", 1), ("b", 3), ("far", 2)):
            for _ in range(households):
                carded_household(ids[code])
        make_rule(ids["a"], "义务劳动", "volunteer", 10)
        make_user("officer", Role.COUNTY, "a")
        make_user("yingwang", Role.TOWNSHIP, "a")
        make_user("a-admin", Role.ADMIN, "a")
    return ids


def this_month() -> str:
    from lovemart.db import utcnow
    from lovemart.services import totals

    return f"{totals.month_of(utcnow()):%Y-%m}"


def test_officer_ranks_the_villages_of_the_county(login, county):
    officer = login("officer")
    month = this_month()
    html = officer.get(f"/county/?first={month}&last={month}&sort=issued").get_data(as_text=True)
    table = html[html.index("<tbody>") : html.index("</tbody>")]
    assert table.index("b村") < table.index("a村")  # 300 points issued beat 100
    assert "far村" not in html  # another county's village
    assert "<svg" in html and "<script" not in html
    assert "全县合计" in html


def test_in_english_the_redeemed_points_are_not_a_price(app, login, county):
    """兑换积分 is a product's points price on the goods pages; the county's metric is the points redeemed
    (services/reports.py METRICS): its own msgid, 已兑换积分, and its own English."""
    officer = login("officer")
    officer.get("/lang/en")
    html = officer.get("/county/").get_data(as_text=True)
    header = html[html.index("<thead>") : html.index("</thead>")]
    assert ">Points redeemed</a>" in header and "Points price" not in html
    workbook = load_workbook(io.BytesIO(officer.get("/county/ranking.xlsx").data), read_only=True)
    assert "Points redeemed" in [cell.value for cell in next(workbook.worksheets[0].iter_rows(min_row=2))]
    assert [cell.value for cell in next(workbook.worksheets[1].iter_rows())][2] == "Points redeemed"
    admin = login("a-admin")
    admin.get("/lang/en")
    assert "Points price" in admin.get("/goods/").get_data(as_text=True)  # the goods list keeps its price


def test_by_default_the_period_ends_with_this_month(login, county):
    html = login("officer").get("/county/?sort=issued").get_data(as_text=True)
    assert f"至 {this_month()}，共 3 个月" in html
    table = html[html.index("<tbody>") : html.index("</tbody>")]
    assert table.index("b村") < table.index("a村")  # this month's base points count


def test_officer_downloads_the_ranking(login, county):
    officer = login("officer")
    month = this_month()
    response = officer.get(f"/county/ranking.xlsx?first={month}&last={month}&sort=issued")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data))["排名"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[2][:2] == (1, "b村") and rows[3][:2] == (2, "a村")
    issued = rows[1].index("发放积分")
    assert (rows[2][issued], rows[3][issued]) == (300, 100)
    assert rows[-1][1] == "全县合计" and rows[-1][issued] == 400


def test_bad_months_are_explained_and_swapped_periods_fixed(login, county):
    officer = login("officer")
    html = officer.get("/county/?first=2026-13&last=abc").get_data(as_text=True)
    assert "请按 2026-10 的格式填写月份" in html
    swapped = officer.get("/county/?first=2026-10&last=2026-08").get_data(as_text=True)
    assert "已为你对调" in swapped and 'value="2026-08"' in swapped


def test_village_staff_may_not_see_the_county(login, county):
    assert login("a-admin").get("/county/").status_code == 403


def test_the_officer_writes_nothing_anywhere(app, login, county):
    """Every POST route of the app refuses the county officer (403), or hides the object (404)."""
    officer = login("officer")
    tried = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in (
            "auth.login",
            "auth.logout",
            "main.switch_village",
            "auth.password",
        ):
            continue
        if rule.endpoint.startswith("public.") or rule.endpoint.startswith("notices.public"):
            continue  # the villager's own pages: no staff session counts there
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<int:{argument}>", "1").replace(f"<{argument}>", "x" * 32)
        response = officer.post(url, data={})
        tried += 1
        assert response.status_code in (401, 403, 404), f"POST {url}: {response.status_code}"
    assert tried > 40


def test_a_village_whose_past_was_rewritten_shows_a_red_alarm(app, login, county, monkeypatch):
    from lovemart.db import unit_of_work
    from lovemart.services import witness
    from tests.transparency import publish_months, rewrite_entry

    with app.app_context():
        world = publish_months(monkeypatch, code="w")
    officer = login("officer")
    html = officer.get("/county/").get_data(as_text=True)
    assert "台账被改写警报" not in html and "alarm-box" not in html
    with app.app_context():
        rewrite_entry(world.village, 4, note="改过的说明", rebuild_tree=True)
        with unit_of_work() as s:
            witness.poll(s)
    html = officer.get("/county/").get_data(as_text=True)
    assert 'class="alarm-box" role="alert"' in html and "台账被改写警报" in html
    assert "<strong>w村</strong>" in html and "县里见证过该村前 10 条台账" in html


def test_a_township_officer_ranks_the_villages_of_the_township_only(login, county):
    officer = login("yingwang")
    month = this_month()
    html = officer.get(f"/county/?first={month}&last={month}&sort=issued").get_data(as_text=True)
    table = html[html.index("<tbody>") : html.index("</tbody>")]
    assert table.index("b村") < table.index("a村")
    assert "jiao村" not in html and "far村" not in html  # the county's other township, another county
    assert "全乡爱心超市 · 排名通报" in html and "全乡合计" in html and "全县" not in html
    sheet = load_workbook(io.BytesIO(officer.get(f"/county/ranking.xlsx?first={month}&last={month}").data))
    names = [row[1] for row in sheet["排名"].iter_rows(values_only=True)]
    assert "jiao村" not in names and names[-1] == "全乡合计"
    assert "全县爱心超市" in login("officer").get("/county/").get_data(as_text=True)  # the county's sees jiao
    assert "jiao村" in login("officer").get(f"/county/?first={month}&last={month}").get_data(as_text=True)


def test_a_township_officer_may_switch_only_between_the_townships_villages(app, login, county):
    officer = login("yingwang")
    officer.post("/village", data={"village_id": county["b"]})
    assert "b村" in officer.get("/households/").get_data(as_text=True)
    officer.post("/village", data={"village_id": county["jiao"]})  # not theirs: the choice stays
    assert "b村" in officer.get("/households/").get_data(as_text=True)
    menu = officer.get("/").get_data(as_text=True)
    assert "a村" in menu and "b村" in menu and "jiao村" not in menu and "全乡排名" in menu


@pytest.mark.parametrize("user", ["officer", "yingwang"])
def test_the_dashboard_warns_of_quiet_households_and_shows_who_takes_part(login, app, user):
    from datetime import timedelta

    from lovemart.db import utcnow
    from lovemart.services import totals

    with app.app_context():
        village = make_village("a")
        carded_household(village, at=utcnow() - timedelta(days=70))  # no entry since: quiet after 60 days
        carded_household(village)
        make_user("officer", Role.COUNTY, "a")
        make_user("yingwang", Role.TOWNSHIP, "a")
    html = login(user).get("/county/").get_data(as_text=True)
    warnings = html[html.index("冷清提醒") : html.index("</section>", html.index("冷清提醒"))]
    assert "a村" in warnings and "1 户超过 60 天没有积分记录" in warnings
    last_month = totals.month_of(totals.month_of(utcnow()) - timedelta(days=1))
    assert f"{last_month:%Y-%m} 无兑换" in warnings and f"{last_month:%Y-%m} 未公示" in warnings
    assert "得分户占比（%）" in html and "受检户占比（%）" in html
