"""Staff pages on a 360 px phone: the top bar is one compact row with a menu button (no inline script), and
every page the menu reaches fits the screen's width, for every role of the demo."""

import pytest

from tests.browser.conftest import PHONE

ROLES = ("admin", "supervisor", "leader", "county", "yingwang", "sysadmin", "wangge")
#: Pages a cadre reaches from a menu page that the menu itself does not list.
JOURNEYS = {
    "admin": ("/points/award", "/households/import", "/goods/stock-in", "/households/new"),
    "supervisor": ("/notices/",),
}


def overflow(page) -> int:
    """How many CSS pixels the page is wider than the screen (0 when nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def menu_links(page) -> list[str]:
    page.locator("label.menu-button").click()
    links = page.locator("nav.nav a")
    assert links.first.is_visible()
    return [links.nth(i).get_attribute("href") for i in range(links.count())]


@pytest.mark.parametrize("username", ROLES)
def test_every_menu_page_fits_a_phone_and_the_bar_stays_small(phone_page, sign_in, username):
    sign_in(phone_page, username)
    assert not phone_page.locator("nav.nav a").first.is_visible()  # folded behind the menu button
    links = menu_links(phone_page)
    assert links, "every role has somewhere to go"
    height = PHONE["height"]
    for href in (*links, *JOURNEYS.get(username, ())):
        response = phone_page.goto(href)
        assert response.status == 200, href
        assert overflow(phone_page) <= 0, f"{href} scrolls sideways by {overflow(phone_page)} px"
        bar = phone_page.locator("header.topbar").bounding_box()
        assert bar["height"] <= height / 5, f"{href}: the bar takes {bar['height']} of {height} px"


def test_the_menu_opens_and_closes_with_a_thumb_and_reaches_a_page(phone_page, sign_in):
    sign_in(phone_page, "admin")
    phone_page.locator("label.menu-button").click()
    phone_page.locator("nav.nav").get_by_role("link", name="积分台账").click()
    phone_page.wait_for_url("**/points/")
    assert not phone_page.locator("nav.nav a").first.is_visible()
    phone_page.locator("label.menu-button").click()
    assert phone_page.locator("nav.nav a").first.is_visible()
    phone_page.locator("label.menu-button").click()
    assert not phone_page.locator("nav.nav a").first.is_visible()


def test_on_a_counter_pc_the_menu_is_one_open_row(page, sign_in):
    sign_in(page, "admin")
    assert page.locator("nav.nav a").first.is_visible()
    assert not page.locator("label.menu-button").is_visible()
    bar = page.locator("header.topbar").bounding_box()
    assert bar["height"] < 60 and overflow(page) <= 0


def test_the_household_search_picks_by_name_number_or_card(phone_page, sign_in, live_app):
    from sqlalchemy import select

    from lovemart.db import db
    from lovemart.models import Card, Household, Member, Village

    with live_app.app_context():
        adao = db.session.scalar(select(Village).where(Village.code == "adao"))
        card = db.session.scalars(
            select(Card).where(Card.village_id == adao.id, Card.status == "active")
        ).first()
        household = db.session.get(Household, card.household_id)
        head = db.session.scalar(
            select(Member.name).where(Member.household_id == household.id, Member.relation == "head")
        )
        db.session.remove()
    sign_in(phone_page, "admin")
    phone_page.goto("/points/award")
    assert not phone_page.get_by_role("searchbox", name="查找农户").is_visible()  # the no-script search
    picker = phone_page.get_by_label("找农户", exact=True)
    select = phone_page.locator("select[name=household_id]")
    total = select.locator("option").count()
    for typed in (household.number, card.number):  # each names one household: it is picked
        picker.fill(typed)
        assert select.locator("option:not([value=''])").count() == 1, typed
        assert select.input_value() == str(household.id), typed
    picker.fill(head)
    shown = select.locator("option:not([value=''])")
    assert 1 <= shown.count() < total - 1
    assert str(household.id) in [shown.nth(i).get_attribute("value") for i in range(shown.count())]
    picker.fill("没有这个人")
    assert phone_page.get_by_text("没有找到这户").is_visible() and select.input_value() == ""
    picker.fill("")
    assert select.locator("option").count() == total
