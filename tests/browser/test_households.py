"""In a real browser: the demo administrator signs in, finds a household of 啊道村 by a head's name, opens it
and sees its members; the pages fit a 360 px phone; nothing is fetched from another host."""

import re

import pytest
from sqlalchemy import func, select

from lovemart.db import db
from lovemart.models import Household, Member, Village
from lovemart.models.households import Relation

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def adao_household(live_app):
    """A demo household of 啊道村 with at least three members whose head's name is unique in the village,
    as {"head": name, "members": [names]}."""
    with live_app.app_context():
        village_id = db.session.scalar(select(Village.id).where(Village.code == "adao"))
        unique_names = (
            select(Member.name)
            .where(Member.village_id == village_id)
            .group_by(Member.name)
            .having(func.count() == 1)
        )
        households = db.session.scalars(
            select(Household)
            .join(Member, (Member.household_id == Household.id) & (Member.relation == Relation.HEAD))
            .where(Household.village_id == village_id, Household.active, Member.name.in_(unique_names))
            .order_by(Household.number)
        ).all()
        household = next(h for h in households if len(h.members) >= 3)
        found = {"head": household.head.name, "members": [m.name for m in household.members]}
        db.session.remove()
    return found


def test_administrator_finds_a_household_by_head_name(page, sign_in, adao_household):
    sign_in(page, "admin")
    assert page.locator("h1").first.inner_text().endswith("啊道村")

    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="农户").click()
    page.wait_for_url("**/households/")
    assert "啊道村 · 农户花名册" in page.locator("h1").inner_text()
    assert "共 154 户" in page.content()

    page.get_by_role("searchbox", name="搜索").fill(adao_household["head"])
    page.get_by_role("button", name="查找").click()
    page.wait_for_url(re.compile(r"/households/\?.*q="))
    assert "共 1 户" in page.content()
    rows = page.locator("table.households tbody tr")
    assert rows.count() == 1

    rows.get_by_role("link", name=adao_household["head"]).click()
    page.wait_for_url(re.compile(r"/households/\d+$"))
    assert adao_household["head"] in page.locator("h1").inner_text()
    members = page.locator("table tbody tr td:first-child").all_inner_texts()
    assert sorted(members) == sorted(adao_household["members"])
    assert f"家庭成员（{len(adao_household['members'])} 人）" in page.content()


def test_phone_sign_in_and_households_list_fit_360px(phone_page, sign_in):
    page = phone_page
    page.goto("/login")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    sign_in(page, "admin")
    page.goto("/households/")
    assert page.locator("table.households tbody tr").count() > 0
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360, f"the households list scrolls sideways on a phone ({scroll_width}px wide)"
    # The search and the navigation stay usable: both are inside the viewport.
    for locator in (page.get_by_role("searchbox", name="搜索"), page.get_by_role("button", name="查找")):
        box = locator.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360


def test_no_request_leaves_127_0_0_1(page, sign_in, requests_seen, live_server):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, "admin")
    page.goto("/households/")
    page.locator("table.households tbody tr a").first.click()
    page.wait_for_url(re.compile(r"/households/\d+$"))
    page.goto("/password")
    page.goto("/lang/en?next=/households/")
    assert page.locator("html").get_attribute("lang") == "en"

    assert any(url.endswith("/static/css/app.css") for url in requests_seen), requests_seen
    assert all(url.startswith(live_server) for url in requests_seen if not url.startswith("data:"))
    assert requests_seen.off_host() == []
    assert errors == []
