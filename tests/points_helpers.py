"""Builders for the points area: a village with rules, households that passed inspection and hold cards."""

from datetime import date, datetime

from lovemart.db import unit_of_work
from lovemart.services import cards, inspections, rules
from lovemart.services.inspections import CHECK_COLUMNS, InspectionInput
from lovemart.services.rules import RuleInput
from tests.factories import make_household, make_village

ALL_CLEAN = dict.fromkeys(CHECK_COLUMNS, True)


def pass_inspection(village_id: int, household_id: int) -> None:
    with unit_of_work() as session:
        inspections.record(
            session,
            actor=None,
            village_id=village_id,
            household_id=household_id,
            data=InspectionInput(date(2026, 11, 1), "检查组", ALL_CLEAN),
        )


def carded_household(village_id: int, at: datetime | None = None, **household) -> tuple[int, str]:
    """A household that passed inspection and holds a card (issued `at`, when not now); returns (household
    id, card token)."""
    household_id = make_household(village_id, **household)
    pass_inspection(village_id, household_id)
    with unit_of_work() as session:
        card = cards.issue(session, actor=None, village_id=village_id, household_id=household_id, at=at)
        return household_id, card.token


def make_rule(village_id: int, name: str, category: str, points: int, **options) -> int:
    with unit_of_work() as session:
        return rules.create(
            session, actor=None, village_id=village_id, data=RuleInput(name, category, points, **options)
        ).id


def points_village(code: str = "a", **settings) -> int:
    return make_village(code, **settings)
