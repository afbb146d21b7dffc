"""The read models of `services.accounts`: the villager's view, account summaries and the entries page."""

import pytest
from sqlalchemy import select, text

from lovemart.db import unit_of_work
from lovemart.models import Card, LedgerEntry
from lovemart.services import accounts, cards, points, rules
from lovemart.services.errors import CardNotActive, NoPointsAccount, NotFound
from tests.factories import make_household
from tests.points_helpers import carded_household, make_rule, points_village


@pytest.fixture
def world(session):
    a = points_village("a", yuan_per_point=4, card_prefix="A")
    household, token = carded_household(a, head="赵大")
    b = points_village("b", card_prefix="B")
    b_household, b_token = carded_household(b, head="钱二")
    return {
        "a": a,
        "household": household,
        "token": token,
        "b": b,
        "b_household": b_household,
        "b_token": b_token,
        "labour": make_rule(a, "义务劳动", "volunteer", 10),
        "honour": make_rule(a, "最美婆婆", "honour", 30, requires_approval=True),
        "litter": make_rule(a, "乱倒垃圾", "deduction", -5),
        "retired": make_rule(a, "旧细则", "volunteer", 3),
        "b_rule": make_rule(b, "b村细则", "volunteer", 7),
    }


def award(world, rule, times=1, household=None):
    with unit_of_work() as session:
        for _ in range(times):
            points.award(
                session,
                actor=None,
                village_id=world["a"],
                household_id=household or world["household"],
                rule_id=world[rule],
            )


def card_of(session, token) -> Card:
    return cards.by_token(session, token)


def test_villager_view_shows_head_balance_value_and_newest_entries(session, world):
    award(world, "labour", times=2)
    award(world, "litter")
    view = accounts.villager_view(session, card_of(session, world["token"]))
    assert (view.village_name, view.head_name, view.card_number) == ("a村", "赵大", "A00001")
    assert (view.balance, view.yuan) == (115, 460)
    assert [(e.label, e.points) for e in view.entries] == [
        ("乱倒垃圾", -5),
        ("义务劳动", 10),
        ("义务劳动", 10),
        ("基础积分", 100),
    ]
    assert view.entries[0].created_at.tzinfo is not None
    assert view.applications == []


def test_villager_view_is_limited_and_costs_four_statements_whatever_the_ledger(
    app, session, world, query_counter
):
    award(world, "labour", times=30)
    card = card_of(session, world["token"])
    with query_counter() as statements:
        view = accounts.villager_view(session, card, entries=10, applications=5)
    assert len(view.entries) == 10 and view.balance == 400
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 4  # head, entries, applications, awards held 公示中
    assert not any("sum(" in s.lower() or "count(" in s.lower() for s in selects)
    assert len(accounts.villager_view(session, card, entries=5).entries) == 5


def test_newest_entries_use_the_account_seq_index_on_sqlite(session, world):
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    plan = session.execute(
        text(
            "EXPLAIN QUERY PLAN SELECT created_at, kind, rule_name, points FROM ledger_entries "
            "WHERE account_id = 1 AND village_id IN (1) ORDER BY seq DESC LIMIT 10"
        )
    ).all()
    details = " ".join(row[-1] for row in plan)
    assert "ix_ledger_entries_account_seq" in details and "TEMP B-TREE" not in details


def test_villager_view_lists_applications_with_their_decisions(session, world):
    with unit_of_work() as s:
        first = points.apply(
            s, village_id=world["a"], household_id=world["household"], rule_id=world["labour"], note="扫雪"
        )
        points.reject(s, actor=None, village_id=world["a"], claim_id=first.id, reason="没有组织扫雪")
        second = points.apply(
            s,
            village_id=world["a"],
            household_id=world["household"],
            rule_id=world["honour"],
            note="照顾婆婆",
        )
        points.accept(s, actor=None, village_id=world["a"], claim_id=second.id)  # needs approval: pending
        points.apply(
            s, village_id=world["a"], household_id=world["household"], rule_id=world["labour"], note="修渠"
        )
        # an administrator's entry under an approval rule is not the villager's application
        points.award(
            s, actor=None, village_id=world["a"], household_id=world["household"], rule_id=world["honour"]
        )
    view = accounts.villager_view(session, card_of(session, world["token"]))
    assert [(a.rule_name, a.status, a.is_open, a.is_refused, a.reason) for a in view.applications] == [
        ("义务劳动", "submitted", True, False, ""),
        ("最美婆婆", "pending", True, False, ""),
        ("义务劳动", "declined", False, True, "没有组织扫雪"),
    ]
    assert [a.status_label for a in view.applications] == ["待受理", "待审核", "未受理"]
    assert (
        len(accounts.villager_view(session, card_of(session, world["token"]), applications=2).applications)
        == 2
    )


def test_entry_labels():
    assert accounts.entry_label("award", "义务劳动") == "义务劳动"
    assert accounts.entry_label("base", "") == "基础积分"
    assert accounts.entry_label("reversal", "义务劳动") == "冲正：义务劳动"
    assert accounts.entry_label("reversal", "") == "冲正"
    assert accounts.entry_label("redemption", "") == "兑换"


def test_summaries_by_household_and_card(session, world):
    award(world, "labour")
    by_household = accounts.summary_for_household(
        session, village_id=world["a"], household_id=world["household"]
    )
    by_card = accounts.summary_for_card(session, village_id=world["a"], number=" a00001 ")
    assert by_household == by_card
    assert (by_household.balance, by_household.yuan, by_household.status, by_household.card_number) == (
        110,
        440,
        "active",
        "A00001",
    )


def test_summary_refusals(session, world):
    with pytest.raises(NotFound):
        accounts.summary_for_household(session, village_id=world["a"], household_id=world["b_household"])
    with pytest.raises(NotFound):
        accounts.summary_for_card(session, village_id=world["a"], number="B00001")
    uncarded = make_household(world["a"], head="孙三")
    with pytest.raises(NoPointsAccount):
        accounts.summary_for_household(session, village_id=world["a"], household_id=uncarded)
    with unit_of_work() as s:
        card = s.scalar(select(Card).where(Card.number == "A00001"))
        cards.recover(s, actor=None, village_id=world["a"], card_id=card.id)
    with pytest.raises(CardNotActive):
        accounts.summary_for_card(session, village_id=world["a"], number="A00001")
    frozen = accounts.summary_for_household(session, village_id=world["a"], household_id=world["household"])
    assert (frozen.status, frozen.card_number, frozen.balance) == ("frozen", None, 100)


def test_entries_page_newest_first_within_the_village(session, world):
    award(world, "labour", times=3)
    page = accounts.entries_page(session, village_id=world["a"], household_id=world["household"], per_page=2)
    assert (page.total, page.pages) == (4, 2)
    assert [e.balance_after for e in page.items] == [130, 120]
    last = accounts.entries_page(
        session, village_id=world["a"], household_id=world["household"], page=2, per_page=2
    )
    assert [e.kind for e in last.items] == ["award", "base"]
    with pytest.raises(NotFound):
        accounts.entries_page(session, village_id=world["a"], household_id=world["b_household"])


def test_earning_rules_are_active_and_not_deductions(session, world):
    with unit_of_work() as s:
        rules.set_active(s, actor=None, village_id=world["a"], rule_id=world["retired"], active=False)
    names = [r.name for r in accounts.earning_rules(session, village_id=world["a"])]
    assert set(names) == {"义务劳动", "最美婆婆"}


def test_application_by_key(session, world):
    assert accounts.application_by_key(session, "apply:k1") is None
    with unit_of_work() as s:
        claim_id = points.apply(
            s,
            village_id=world["a"],
            household_id=world["household"],
            rule_id=world["labour"],
            note="x",
            request_key="apply:k1",
        ).id
    assert accounts.application_by_key(session, "apply:k1").id == claim_id


def test_view_never_reads_another_villages_rows(session, world):
    """Even with the session unrestricted, the view reads only the card's own account."""
    with unit_of_work() as s:
        points.award(
            s, actor=None, village_id=world["b"], household_id=world["b_household"], rule_id=world["b_rule"]
        )
    view = accounts.villager_view(session, card_of(session, world["token"]))
    assert view.balance == 100 and all(e.label != "b村细则" for e in view.entries)
    b_view = accounts.villager_view(session, card_of(session, world["b_token"]))
    assert (b_view.head_name, b_view.balance) == ("钱二", 107)
    assert session.scalar(select(LedgerEntry.id).where(LedgerEntry.village_id == world["b"])) is not None
