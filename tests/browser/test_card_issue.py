"""In a real browser: the demo administrator picks a household of 啊道村 that has not passed yet, inspects it
with all six checks ticked, issues its card, opens the printable card and sees the QR code as inline SVG at
credit-card size; the QR's URL opens the household's own page."""

import re

import pytest

from lovemart.models.inspections import CHECKS

pytestmark = pytest.mark.browser

MM = 96 / 25.4  # CSS pixels per millimetre


def test_administrator_inspects_issues_and_prints_a_card(page, sign_in):
    sign_in(page, "admin")
    page.get_by_role("navigation", name="主菜单").get_by_role("link", name="检查发卡").click()
    page.wait_for_url("**/inspections/")

    # the first household of the "not passing yet" list that was never inspected (so it has no card yet)
    failing = page.locator("table.inspections").nth(1).locator("tbody tr").filter(has_text="尚未检查").first
    head = failing.locator("td").nth(1).inner_text().strip()
    failing.get_by_role("link", name="检查").click()
    page.wait_for_url(re.compile(r"/inspections/households/\d+/new$"))
    assert head in page.locator("h1").inner_text()

    for _, label in CHECKS:
        box = page.get_by_label(str(label), exact=True)
        assert not box.is_checked()
        box.check()
    page.get_by_label("备注").fill("六项全部达标")
    page.get_by_role("button", name="保存检查结果").click()
    page.wait_for_url(re.compile(r"/households/\d+$"))
    assert "已记录检查：六项全部达标。" in page.content()
    assert page.locator("table.inspection-history tbody tr").first.get_by_text("六项达标").is_visible()

    page.locator(".cardbox").get_by_role("button", name="发卡").click()
    page.wait_for_url(re.compile(r"/cards/\d+$"))
    number = page.locator(".card-number").inner_text().strip()
    assert re.fullmatch(r"ADAO\d{5}", number)
    assert f"已发放积分卡 {number}" in page.content()
    assert page.locator(".qr-large svg").count() == 1
    villager_url = page.get_by_role("link", name="打开农户页面").get_attribute("href")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/c/[A-Za-z0-9_-]{32,}", villager_url)

    page.get_by_role("link", name="打印此卡").click()
    page.wait_for_url(re.compile(r"/cards/\d+/print$"))
    card = page.locator("article.lm-card")
    assert card.count() == 1
    assert card.locator(".lm-card-qr svg").count() == 1
    assert number in card.inner_text() and head in card.inner_text() and "啊道村" in card.inner_text()
    box = card.bounding_box()
    assert abs(box["width"] - 85.6 * MM) < 2 and abs(box["height"] - 54 * MM) < 2
    qr = card.locator(".lm-card-qr svg").bounding_box()
    assert qr["width"] > 25 * MM and abs(qr["width"] - qr["height"]) < 1

    page.emulate_media(media="print")
    assert not page.locator(".paper-toolbar").is_visible()  # paper: only the card
    assert card.is_visible()

    villager = page.context.new_page()
    villager.goto(villager_url)
    assert head in villager.content()
    villager.close()
