"""`points.balances`: what every page, receipt and the API say an account holds — spendable (the stored
balance), held 公示中 under 公示后入账, and pending 待审核 — and `Recorded.outcome`, what became of an
award."""

import pytest

from lovemart.db import unit_of_work
from lovemart.models import Village
from lovemart.models.points import ClaimStatus
from lovemart.services import accounts, cards, points
from lovemart.services.errors import NotFound
from lovemart.services.points import Balance, Outcome, Waiting
from tests.points_helpers import carded_household, make_rule, points_village


@pytest.fixture
def world(session):
    a = points_village("a", card_prefix="A")
    household, token = carded_household(a, head="赵大")
    other, _ = carded_household(a, head="钱二")
    b = points_village("b", card_prefix="B")
    b_household, _ = carded_household(b, head="孙三")
    return {
        "a": a,
        "b": b,
        "household": household,
        "other": other,
        "b_household": b_household,
        "token": token,
        "labour": make_rule(a, "义务劳动", "volunteer", 15),
        "honour": make_rule(a, "最美婆婆", "honour", 30, requires_approval=True),
        "litter": make_rule(a, "乱倒垃圾", "deduction", -5),
        "fine": make_rule(a, "违规", "deduction", -8, requires_approval=True),
        "b_rule": make_rule(b, "b村细则", "volunteer", 7),
    }


def hold_after_notice(village_id: int, on: bool = True) -> None:
    with unit_of_work() as session:
        session.get(Village, village_id).credit_after_notice = on


def award(world, rule, household="household", village="a") -> points.Recorded:
    with unit_of_work() as session:
        return points.award(
            session, actor=None, village_id=world[village], household_id=world[household], rule_id=world[rule]
        )


def account_id(session, world, household="household", village="a") -> int:
    return points.account_for_household(session, village_id=world[village], household_id=world[household]).id


def balance(session, world, household="household", village="a") -> Balance:
    return points.balance_of(
        session, village_id=world[village], account_id=account_id(session, world, household, village)
    )


def test_nothing_waiting_is_all_spendable(session, world):
    assert balance(session, world) == Balance(account_id(session, world), 100, held=0, pending=0)


def test_held_and_pending_are_beside_the_spendable_balance_never_in_it(session, world):
    hold_after_notice(world["a"])
    assert award(world, "labour").outcome == Outcome.HELD
    assert award(world, "labour").outcome == Outcome.HELD
    assert award(world, "honour").outcome == Outcome.PENDING
    assert award(world, "litter").outcome == Outcome.CREDITED  # deductions count at once
    assert award(world, "fine").outcome == Outcome.PENDING  # a deduction waiting: not counted as coming
    found = balance(session, world)
    assert (found.spendable, found.held, found.pending) == (95, 30, 30)
    assert found.spendable == points.recompute_balance(session, found.account_id)  # the ledger's sum
    assert balance(session, world, "other") == Balance(account_id(session, world, "other"), 100)


def test_a_held_award_credited_after_its_notice_moves_from_held_to_spendable_and_a_reversal_takes_it_back(
    session, world
):
    hold_after_notice(world["a"])
    claim_id = award(world, "labour").claim.id
    assert (balance(session, world).spendable, balance(session, world).held) == (100, 15)
    with unit_of_work() as s:
        credited = points.credit_publicized(s, actor=None, village_id=world["a"], claim_id=claim_id)
        entry_id = credited.entry_id
    assert (balance(session, world).spendable, balance(session, world).held) == (115, 0)
    with unit_of_work() as s:
        points.reverse(s, actor=None, village_id=world["a"], entry_id=entry_id, reason="未参加")
    session.expire_all()
    assert (balance(session, world).spendable, balance(session, world).held) == (100, 0)


def test_a_held_award_dropped_on_an_upheld_objection_is_neither_held_nor_spendable(session, world):
    hold_after_notice(world["a"])
    claim_id = award(world, "labour").claim.id
    with unit_of_work() as s:
        points.drop_publicized(s, actor=None, village_id=world["a"], claim_id=claim_id, reason="核实未参加")
    assert (balance(session, world).spendable, balance(session, world).held) == (100, 0)


def test_an_approved_award_under_credit_after_notice_moves_from_pending_to_held(session, world):
    hold_after_notice(world["a"])
    claim_id = award(world, "honour").claim.id
    assert (balance(session, world).held, balance(session, world).pending) == (0, 30)
    with unit_of_work() as s:
        claim = points.approve(s, actor=None, village_id=world["a"], claim_id=claim_id)
        assert claim.status == ClaimStatus.PUBLICIZING
    assert (
        balance(session, world).spendable,
        balance(session, world).held,
        balance(session, world).pending,
    ) == (
        100,
        30,
        0,
    )


def test_balances_of_many_accounts_in_one_statement_and_none_of_another_village(
    session, world, query_counter
):
    hold_after_notice(world["a"])
    award(world, "labour")
    award(world, "labour", household="other")
    award(world, "b_rule", household="b_household", village="b")
    mine = [account_id(session, world), account_id(session, world, "other")]
    theirs = account_id(session, world, "b_household", "b")
    with query_counter() as statements:
        found = points.balances(session, village_id=world["a"], account_ids=[*mine, theirs])
    assert len(statements) == 1
    assert set(found) == set(mine)
    assert [found[a].held for a in mine] == [15, 15]
    with pytest.raises(NotFound):
        points.balance_of(session, village_id=world["a"], account_id=theirs)
    assert points.balances(session, village_id=world["a"], account_ids=[]) == {}


def test_the_village_waiting_totals_count_as_the_balances_do(session, world):
    assert points.waiting(session, village_id=world["a"]) == Waiting()
    hold_after_notice(world["a"])
    award(world, "labour")
    award(world, "labour")
    award(world, "labour", household="other")
    award(world, "honour", household="other")
    award(world, "fine")
    assert points.waiting(session, village_id=world["a"]) == Waiting(
        held_households=2, held=45, pending_households=1, pending=30
    )
    assert points.waiting(session, village_id=world["b"]) == Waiting()


def test_the_villager_page_and_the_api_agree_with_the_balance(session, world):
    hold_after_notice(world["a"])
    award(world, "labour")
    award(world, "honour")
    card = cards.by_token(session, world["token"])
    view = accounts.villager_view(session, card)
    summary = accounts.summary_for_household(session, village_id=world["a"], household_id=world["household"])
    found = balance(session, world)
    assert view.balance == summary.balance == found.spendable == 100
    assert view.held_points == summary.held == found.held == 15
    assert summary.pending == found.pending == 30


def test_a_replayed_award_says_what_became_of_it_since(session, world):
    hold_after_notice(world["a"])
    with unit_of_work() as s:
        first = points.award(
            s, actor=None, village_id=world["a"], household_id=world["household"], rule_id=world["labour"],
            request_key="k-1",
        )  # fmt: skip
        assert (first.outcome, first.points) == (Outcome.HELD, 15)
        points.credit_publicized(s, actor=None, village_id=world["a"], claim_id=first.claim.id)
    with unit_of_work() as s:
        again = points.award(
            s, actor=None, village_id=world["a"], household_id=world["household"], rule_id=world["labour"],
            request_key="k-1",
        )  # fmt: skip
        assert again.outcome == Outcome.CREDITED and again.entry.points == 15
        rejected = points.award(
            s, actor=None, village_id=world["a"], household_id=world["household"], rule_id=world["honour"],
            request_key="k-2",
        )  # fmt: skip
        points.reject(s, actor=None, village_id=world["a"], claim_id=rejected.claim.id, reason="不属实")
        replayed = points.award(
            s, actor=None, village_id=world["a"], household_id=world["household"], rule_id=world["honour"],
            request_key="k-2",
        )  # fmt: skip
        assert replayed.outcome == Outcome.REFUSED
