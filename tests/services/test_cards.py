"""Point cards: issued only after a passing latest inspection, base points once per account, reissue keeps the
account, recovery freezes it, numbers follow the village prefix, and lists never need the token."""

from datetime import date

import pytest
from sqlalchemy import func, select

from lovemart.db import unit_of_work
from lovemart.models import AuditEvent, Card, LedgerEntry, PointsAccount
from lovemart.models.cards import CardStatus
from lovemart.models.points import AccountStatus
from lovemart.services import cards, households, inspections, points
from lovemart.services.errors import (
    AccountFrozen,
    AlreadyHasCard,
    CardNotActive,
    HouseholdInactive,
    InspectionNotPassed,
    NotFound,
)
from lovemart.services.inspections import InspectionInput
from tests.factories import make_household, make_village
from tests.points_helpers import ALL_CLEAN, carded_household, make_rule, pass_inspection

FAILED_TOILET = ALL_CLEAN | {"toilet_clean": False}


def inspect(village_id, household_id, checks=ALL_CLEAN, on=date(2026, 11, 1)):
    with unit_of_work() as session:
        return inspections.record(
            session,
            actor=None,
            village_id=village_id,
            household_id=household_id,
            data=InspectionInput(on, "检查组", checks),
        ).id


def issue(village_id, household_id):
    with unit_of_work() as session:
        card = cards.issue(session, actor=None, village_id=village_id, household_id=household_id)
        return card.id, card.number, card.token


def reissue(village_id, card_id):
    with unit_of_work() as session:
        card = cards.reissue(session, actor=None, village_id=village_id, card_id=card_id)
        return card.id, card.number, card.token


def recover(village_id, card_id):
    with unit_of_work() as session:
        cards.recover(session, actor=None, village_id=village_id, card_id=card_id)


def account_of(session, household_id) -> PointsAccount:
    session.expire_all()
    return session.scalar(select(PointsAccount).where(PointsAccount.household_id == household_id))


def entry_kinds(session, household_id) -> list[tuple[str, int]]:
    account = account_of(session, household_id)
    return [
        (e.kind, e.points)
        for e in session.scalars(
            select(LedgerEntry).where(LedgerEntry.account_id == account.id).order_by(LedgerEntry.seq)
        )
    ]


def test_a_household_never_inspected_is_refused(session):
    village_id = make_village("a")
    household_id = make_household(village_id)
    with pytest.raises(InspectionNotPassed) as refused:
        issue(village_id, household_id)
    assert "尚未检查" in refused.value.message
    assert session.scalar(select(func.count()).select_from(Card)) == 0
    assert session.scalar(select(func.count()).select_from(PointsAccount)) == 0


def test_a_failed_latest_inspection_is_refused_naming_the_failed_checks(session):
    village_id = make_village("a")
    household_id = make_household(village_id)
    inspect(village_id, household_id, FAILED_TOILET)
    with pytest.raises(InspectionNotPassed) as refused:
        issue(village_id, household_id)
    assert refused.value.code == "inspection_not_passed"
    assert "厕所净" in refused.value.message and "暂不能发卡" in refused.value.message


def test_a_later_failed_inspection_blocks_an_earlier_pass(session):
    village_id = make_village("a")
    household_id = make_household(village_id)
    inspect(village_id, household_id, ALL_CLEAN, on=date(2026, 10, 1))
    inspect(village_id, household_id, FAILED_TOILET, on=date(2026, 11, 1))
    with pytest.raises(InspectionNotPassed):
        issue(village_id, household_id)


def test_latest_means_the_newest_date_not_the_newest_record(session):
    """A back-dated failure recorded after a newer pass does not hide the pass (and vice versa)."""
    village_id = make_village("a")
    household_id = make_household(village_id)
    inspect(village_id, household_id, ALL_CLEAN, on=date(2026, 11, 1))
    inspect(village_id, household_id, FAILED_TOILET, on=date(2026, 10, 1))
    card_id, _, _ = issue(village_id, household_id)
    assert card_id
    latest = inspections.latest_by_household(session, village_id=village_id)[household_id]
    assert latest.passed and latest.inspected_on == date(2026, 11, 1)


def test_issue_credits_the_base_points_once_as_the_first_entry(session):
    village_id = make_village("a", base_points=120)
    household_id = make_household(village_id)
    pass_inspection(village_id, household_id)
    issue(village_id, household_id)
    assert entry_kinds(session, household_id) == [("base", 120)]
    assert account_of(session, household_id).balance == 120
    with pytest.raises(AlreadyHasCard) as refused:
        issue(village_id, household_id)
    assert refused.value.code == "already_has_card"
    assert entry_kinds(session, household_id) == [("base", 120)]
    assert points.verify(session) == []


def test_a_village_without_base_points_opens_an_empty_account(session):
    village_id = make_village("a", base_points=0)
    household_id = make_household(village_id)
    pass_inspection(village_id, household_id)
    issue(village_id, household_id)
    assert account_of(session, household_id).balance == 0
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_a_moved_out_household_is_refused(session):
    village_id = make_village("a")
    household_id = make_household(village_id)
    pass_inspection(village_id, household_id)
    with unit_of_work() as s:
        households.set_active(s, actor=None, village_id=village_id, household_id=household_id, active=False)
    with pytest.raises(HouseholdInactive):
        issue(village_id, household_id)


def test_card_numbers_use_the_village_prefix_and_increase(session):
    village_id = make_village("a", card_prefix="AD")
    other_id = make_village("b")
    numbers = []
    for _ in range(3):
        household_id = make_household(village_id)
        pass_inspection(village_id, household_id)
        numbers.append(issue(village_id, household_id)[1])
    assert numbers == ["AD00001", "AD00002", "AD00003"]
    other = make_household(other_id)
    pass_inspection(other_id, other)
    assert issue(other_id, other)[1] == "B00001"  # each village counts on its own


def test_tokens_are_long_random_and_unique(session):
    village_id = make_village("a")
    tokens = {carded_household(village_id)[1] for _ in range(5)}
    assert len(tokens) == 5
    assert all(len(token) >= 32 for token in tokens)  # 24 random bytes, URL-safe: 192 bits


def test_reissue_keeps_the_account_and_balance_and_kills_the_old_token(session):
    village_id = make_village("a")
    household_id, old_token = carded_household(village_id)
    labour = make_rule(village_id, "义务劳动", "volunteer", 10)
    with unit_of_work() as s:
        points.award(s, actor=None, village_id=village_id, household_id=household_id, rule_id=labour)
    old = session.scalar(select(Card).where(Card.token == old_token))
    account_before = account_of(session, household_id)
    account_id, balance = account_before.id, account_before.balance

    new_id, new_number, new_token = reissue(village_id, old.id)

    session.expire_all()
    assert session.get(Card, old.id).status == CardStatus.LOST
    assert session.get(Card, old.id).ended_at is not None
    new = session.get(Card, new_id)
    assert new.replaces_id == old.id and new.account_id == account_id and new_number != old.number
    assert new_token != old_token
    assert account_of(session, household_id).balance == balance == 110
    assert entry_kinds(session, household_id) == [("base", 100), ("award", 10)]  # no second base credit
    assert cards.by_token(session, old_token) is None
    assert cards.by_token(session, new_token).id == new_id
    with pytest.raises(CardNotActive):
        reissue(village_id, old.id)


def test_recover_freezes_the_account_and_awards_are_then_refused(session):
    village_id = make_village("a")
    household_id, token = carded_household(village_id)
    labour = make_rule(village_id, "义务劳动", "volunteer", 10)
    card_id = session.scalar(select(Card.id).where(Card.token == token))

    recover(village_id, card_id)

    session.expire_all()
    assert session.get(Card, card_id).status == CardStatus.RECOVERED
    account = account_of(session, household_id)
    assert account.status == AccountStatus.FROZEN and account.frozen_at is not None
    assert account.balance == 100  # history and balance are kept
    assert cards.by_token(session, token) is None
    with pytest.raises(AccountFrozen) as refused:
        with unit_of_work() as s:
            points.award(s, actor=None, village_id=village_id, household_id=household_id, rule_id=labour)
    assert refused.value.code == "account_frozen"
    with pytest.raises(CardNotActive):
        recover(village_id, card_id)


def test_issuing_to_a_recovered_household_reuses_the_frozen_account_without_new_base_points(session):
    village_id = make_village("a")
    household_id, token = carded_household(village_id)
    first = session.scalar(select(Card).where(Card.token == token))
    account_id = first.account_id
    recover(village_id, first.id)
    inspect(village_id, household_id)  # the household comes back and passes again

    card_id, _, _ = issue(village_id, household_id)

    account = account_of(session, household_id)
    assert account.id == account_id and account.status == AccountStatus.ACTIVE and account.frozen_at is None
    assert session.get(Card, card_id).account_id == account_id
    assert entry_kinds(session, household_id) == [("base", 100)]
    assert session.scalar(select(func.count()).select_from(PointsAccount)) == 1


def test_writes_are_audited_without_the_token(session):
    village_id = make_village("a")
    household_id, token = carded_household(village_id)
    card_id = session.scalar(select(Card.id).where(Card.token == token))
    _, _, new_token = reissue(village_id, card_id)
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.tag.like("card:%")).order_by(AuditEvent.id)
    ).all()
    assert [e.tag for e in events] == ["card:card:issue", "card:card:reissue"]
    assert all(token not in str(e.data) and new_token not in str(e.data) for e in events)


def test_another_villages_card_is_not_found(session):
    village_id, other_id = make_village("a"), make_village("b")
    _, token = carded_household(other_id)
    card_id = session.scalar(select(Card.id).where(Card.token == token))
    for call in (cards.reissue, cards.recover):
        with pytest.raises(NotFound), unit_of_work() as s:
            call(s, actor=None, village_id=village_id, card_id=card_id)
    with pytest.raises(NotFound):
        cards.get(session, village_id=village_id, card_id=card_id)


def test_household_cards_and_printable_and_awaiting(session):
    village_id = make_village("a")
    carded, token = carded_household(village_id, number="01", group="一组")
    second, _ = carded_household(village_id, number="02", group="二组")
    ready = make_household(village_id, number="03")
    pass_inspection(village_id, ready)
    failing = make_household(village_id, number="04")
    inspect(village_id, failing, FAILED_TOILET)
    first_card = session.scalar(select(Card.id).where(Card.token == token))
    reissue(village_id, first_card)

    summary = cards.for_household(session, village_id=village_id, household_id=carded)
    assert summary.active is not None and [c.status for c in summary.history] == ["active", "lost"]
    assert summary.account.balance == 100 and not summary.frozen

    assert [p.household.number for p in cards.printable(session, village_id=village_id)] == ["01", "02"]
    group_two = next(
        g for g in households.group_by_name(session, village_id=village_id).values() if g.name == "二组"
    )
    assert [
        p.household.id for p in cards.printable(session, village_id=village_id, group_id=group_two.id)
    ] == [second]
    assert [h.id for h in cards.awaiting_card(session, village_id=village_id)] == [ready]
