"""Balances that agree, in a real browser on a 360 px phone and on the 1366 px counter PC: with 公示后入账
on, the counter's customer card and the villager's own page show the same spendable balance and the same
"另有 N 分公示中". A failing test leaves a screenshot of each size in test-artefacts/
(tests/browser/conftest.py)."""

import re

import pytest
from sqlalchemy import select

from lovemart.db import db, unit_of_work
from lovemart.models import Card, Household, PointsAccount, Rule, Village
from lovemart.models.cards import CardStatus
from lovemart.models.points import AccountStatus
from lovemart.services import points
from lovemart.services.points import Outcome

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def held_card(live_app):
    """An active card of 啊道村 whose household has an award held 公示中 (the village credits after its
    notices)."""
    with live_app.app_context():
        village_id = db.session.scalar(select(Village.id).where(Village.code == "adao"))
        card = db.session.scalars(
            select(Card)
            .join(PointsAccount, PointsAccount.id == Card.account_id)
            .join(Household, Household.id == Card.household_id)
            .where(
                Card.village_id == village_id,
                Card.status == CardStatus.ACTIVE.value,
                PointsAccount.status == AccountStatus.ACTIVE.value,
                Household.active.is_(True),
            )
            .order_by(Card.id)
        ).first()
        rule_id = db.session.scalar(
            select(Rule.id)
            .where(
                Rule.village_id == village_id,
                Rule.active.is_(True),
                Rule.points > 0,
                Rule.requires_approval.is_(False),
                Rule.cap_per_month.is_(None),
            )
            .order_by(Rule.id)
        )
        found = {"id": card.id, "token": card.token, "account": card.account_id}
        with unit_of_work() as session:
            session.get(Village, village_id).credit_after_notice = True
        with unit_of_work() as session:
            recorded = points.award(
                session, actor=None, village_id=village_id, household_id=card.household_id, rule_id=rule_id
            )
            assert recorded.outcome == Outcome.HELD
        balance = points.balance_of(db.session, village_id=village_id, account_id=card.account_id)
        assert balance.held >= recorded.points > 0
        db.session.remove()
    return found | {"spendable": balance.spendable, "held": balance.held}


def _within_the_screen(page, locator) -> bool:
    box = locator.bounding_box()
    width = page.evaluate("document.documentElement.clientWidth")
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


@pytest.mark.parametrize("size", ["phone_page", "page"])
def test_the_counter_and_the_villagers_page_show_the_same_held_points(request, size, sign_in, held_card):
    page = request.getfixturevalue(size)
    held_text = f"另有 {held_card['held']} 分公示中"

    sign_in(page, "admin")
    page.goto(f"/counter/cards/{held_card['id']}")
    customer = page.locator("[data-customer]")
    assert customer.locator("[data-balance-shown]").inner_text() == str(held_card["spendable"])
    counter_held = customer.locator("[data-held]")
    assert counter_held.is_visible() and _within_the_screen(page, counter_held)
    assert counter_held.get_attribute("data-held") == str(held_card["held"])
    assert counter_held.inner_text() == held_text
    assert re.search(rf"可用\s*{held_card['spendable']}\s*分\s*·\s*{held_text}", customer.inner_text())

    page.goto(f"/c/{held_card['token']}")  # the card's QR link, as the villager's phone opens it
    page.wait_for_url("**/me")
    assert page.locator("#balance strong").inner_text() == str(held_card["spendable"])
    villager_held = page.locator(".balance [data-held]")
    assert villager_held.is_visible() and _within_the_screen(page, villager_held)
    assert villager_held.get_attribute("data-held") == str(held_card["held"])
    assert held_text in villager_held.inner_text()
