import hashlib
import json
from datetime import UTC

import pytest
from sqlalchemy import select, text

from lovemart.db import unit_of_work
from lovemart.models import LedgerBook, LedgerEntry, PointsAccount, PointsClaim
from lovemart.models.points import GENESIS_HASH, ClaimStatus
from lovemart.services import points
from lovemart.services import rules as rules_service
from lovemart.services.errors import (
    AlreadyReversed,
    CapExceeded,
    IdempotencyConflict,
    InsufficientPoints,
    InvalidInput,
    NoPointsAccount,
    RuleRetired,
)
from lovemart.services.rules import RuleInput
from tests.factories import make_household
from tests.points_helpers import carded_household, make_rule, points_village
from tests.tamper import tamper


def balance(session, household_id):
    return session.scalar(select(PointsAccount.balance).where(PointsAccount.household_id == household_id))


def award(village_id, household_id, rule_id, **kwargs):
    with unit_of_work() as session:
        return points.award(
            session, actor=None, village_id=village_id, household_id=household_id, rule_id=rule_id, **kwargs
        )


def test_card_issue_credits_base_points_as_first_entry(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    entries = session.scalars(select(LedgerEntry)).all()
    assert [(e.seq, e.kind, e.points, e.balance_after) for e in entries] == [(1, "base", 100, 100)]
    assert balance(session, household_id) == 100
    assert points.verify(session) == []


def test_award_and_deduct_move_the_stored_balance(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    labour = make_rule(village_id, "义务劳动", "volunteer", 10)
    litter = make_rule(village_id, "乱倒垃圾", "deduction", -5)
    award(village_id, household_id, labour, note="修路")
    award(village_id, household_id, litter)
    assert balance(session, household_id) == 105
    kinds = [
        (e.kind, e.points, e.rule_name, e.balance_after)
        for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))
    ]
    assert kinds == [
        ("base", 100, "", 100),
        ("award", 10, "义务劳动", 110),
        ("deduction", -5, "乱倒垃圾", 105),
    ]


def test_deduction_below_zero_is_refused_unless_the_rule_allows_it(session):
    village_id = points_village(base_points=3)
    household_id, _ = carded_household(village_id)
    small = make_rule(village_id, "柴草乱堆", "deduction", -5)
    debt = make_rule(village_id, "违反村规民约", "deduction", -5, allow_negative=True)
    with pytest.raises(InsufficientPoints) as refused:
        award(village_id, household_id, small)
    assert (refused.value.values["needed"], refused.value.values["available"]) == (5, 3)
    assert balance(session, household_id) == 3
    award(village_id, household_id, debt)
    session.expire_all()
    assert balance(session, household_id) == -2
    assert points.verify(session) == []


def test_editing_a_rule_never_changes_past_entries(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    rule_id = make_rule(village_id, "义务劳动", "volunteer", 10)
    award(village_id, household_id, rule_id)
    with unit_of_work() as s:
        rules_service.update(
            s,
            actor=None,
            village_id=village_id,
            rule_id=rule_id,
            data=RuleInput("义务劳动（全天）", "volunteer", 20),
        )
    entry = session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "award"))
    assert (entry.points, entry.rule_name) == (10, "义务劳动")
    assert points.verify(session) == []


def test_retired_rule_is_refused(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    rule_id = make_rule(village_id, "义务劳动", "volunteer", 10)
    with unit_of_work() as s:
        rules_service.set_active(s, actor=None, village_id=village_id, rule_id=rule_id, active=False)
    with pytest.raises(RuleRetired):
        award(village_id, household_id, rule_id)


def test_monthly_cap_counts_entries_net_of_reversals(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    meeting = make_rule(village_id, "参加村组会议", "collective", 2, cap_per_month=4)
    first = award(village_id, household_id, meeting).entry.id
    award(village_id, household_id, meeting)
    with pytest.raises(CapExceeded) as refused:
        award(village_id, household_id, meeting)
    assert "每户每月最多 4 分" in refused.value.message
    with unit_of_work() as s:
        points.reverse(s, actor=None, village_id=village_id, entry_id=first, reason="记错了")
    award(village_id, household_id, meeting)
    assert balance(session, household_id) == 104


def test_repeated_deductions_escalate_within_the_month(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    litter = make_rule(village_id, "乱倒垃圾", "deduction", -5, repeat_points=(-5, -10, -20))
    taken = [award(village_id, household_id, litter).entry.points for _ in range(4)]
    assert taken == [-5, -10, -20, -20]


def test_reversal_names_the_entry_and_happens_once(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    rule_id = make_rule(village_id, "义务劳动", "volunteer", 10)
    wrong = award(village_id, household_id, rule_id).entry.id
    with unit_of_work() as s:
        reversal = points.reverse(s, actor=None, village_id=village_id, entry_id=wrong, reason="不是这户")
        assert (reversal.points, reversal.reversal_of_id, reversal.note) == (-10, wrong, "不是这户")
    with pytest.raises(AlreadyReversed), unit_of_work() as s:
        points.reverse(s, actor=None, village_id=village_id, entry_id=wrong, reason="再来一次")
    with pytest.raises(InvalidInput), unit_of_work() as s:
        points.reverse(s, actor=None, village_id=village_id, entry_id=wrong, reason="  ")
    assert balance(session, household_id) == 100
    assert session.query(LedgerEntry).count() == 3
    assert points.verify(session) == []


def test_request_key_makes_an_award_idempotent(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    rule_id = make_rule(village_id, "义务劳动", "volunteer", 10)
    other = make_rule(village_id, "邻里互助", "family_virtue", 5)
    first = award(village_id, household_id, rule_id, request_key="k1").entry.id
    again = award(village_id, household_id, rule_id, request_key="k1").entry.id
    assert first == again
    assert balance(session, household_id) == 110
    with pytest.raises(IdempotencyConflict):
        award(village_id, household_id, other, request_key="k1")


def test_batch_award_is_all_or_nothing(session):
    village_id = points_village()
    carded = [carded_household(village_id)[0] for _ in range(3)]
    no_card = make_household(village_id)
    labour = make_rule(village_id, "义务劳动", "volunteer", 10)
    with pytest.raises(InvalidInput) as refused, unit_of_work() as s:
        points.award_batch(
            s, actor=None, village_id=village_id, household_ids=[*carded, no_card], rule_id=labour
        )
    assert isinstance(refused.value.__cause__, NoPointsAccount)  # the refusal names the household
    assert "王建华 户：该户还没有积分卡" in refused.value.message
    assert session.query(LedgerEntry).filter(LedgerEntry.kind == "award").count() == 0
    with unit_of_work() as s:
        done = points.award_batch(
            s, actor=None, village_id=village_id, household_ids=carded, rule_id=labour, request_key="day1"
        )
        assert len(done) == 3
    with unit_of_work() as s:
        points.award_batch(
            s, actor=None, village_id=village_id, household_ids=carded, rule_id=labour, request_key="day1"
        )
    assert [balance(session, h) for h in carded] == [110, 110, 110]


def test_rule_needing_approval_waits_outside_the_balance(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    honour = make_rule(village_id, "五好家庭", "honour", 50, requires_approval=True)
    claim_id = award(village_id, household_id, honour).claim.id
    assert balance(session, household_id) == 100
    with unit_of_work() as s:
        claim = points.approve(s, actor=None, village_id=village_id, claim_id=claim_id)
        assert claim.status == ClaimStatus.APPROVED
    session.expire_all()
    assert balance(session, household_id) == 150
    with pytest.raises(Exception) as twice, unit_of_work() as s:
        points.approve(s, actor=None, village_id=village_id, claim_id=claim_id)
    assert twice.value.code == "claim_not_open"


def test_villager_application_accept_and_decline(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    helping = make_rule(village_id, "邻里互助", "family_virtue", 5)
    with unit_of_work() as s:
        accepted = points.apply(
            s, village_id=village_id, household_id=household_id, rule_id=helping, note="帮邻居收玉米"
        ).id
        declined = points.apply(
            s, village_id=village_id, household_id=household_id, rule_id=helping, note="自己扫院子"
        ).id
    with unit_of_work() as s:
        points.accept(s, actor=None, village_id=village_id, claim_id=accepted)
        points.reject(s, actor=None, village_id=village_id, claim_id=declined, reason="属于本户卫生，不加分")
    claims = {c.id: c for c in session.scalars(select(PointsClaim))}
    assert claims[accepted].status == "approved" and claims[accepted].entry_id is not None
    assert (claims[declined].status, claims[declined].reason) == ("declined", "属于本户卫生，不加分")
    assert balance(session, household_id) == 105


def test_verify_names_an_entry_edited_in_the_database(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    rule_id = make_rule(village_id, "义务劳动", "volunteer", 10)
    target = award(village_id, household_id, rule_id).entry.id
    award(village_id, household_id, rule_id)
    tamper("UPDATE ledger_entries SET points = 100 WHERE id = :id", "ledger_entries", id=target)
    problems = points.verify(session)
    assert problems and problems[0].entry_id == target


def test_verify_notices_a_stored_balance_changed_by_hand(session):
    village_id = points_village()
    household_id, _ = carded_household(village_id)
    with unit_of_work() as s:
        s.execute(text("UPDATE points_accounts SET balance = 999"))
    problems = points.verify(session)
    assert [p.account_id is not None for p in problems] == [True]


def test_chain_links_every_entry_to_the_previous(session):
    """Each entry's hash is recomputed here, with hashlib, from the previous entry's hash and the entry's own
    content: a hash that ignored either would not match."""
    village_id = points_village()
    rule_id = make_rule(village_id, "义务劳动", "volunteer", 10)
    for _ in range(3):
        household_id, _ = carded_household(village_id)
        award(village_id, household_id, rule_id, note="第一次")
    entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
    assert [e.seq for e in entries] == list(range(1, 7))
    previous = GENESIS_HASH
    for entry in entries:
        content = points.canonical_content(entry)
        assert json.loads(content) == {
            "village": village_id,
            "seq": entry.seq,
            "account": entry.account_id,
            "points": entry.points,
            "balance_after": entry.balance_after,
            "kind": entry.kind,
            "rule": entry.rule_id,
            "rule_name": entry.rule_name,
            "note": entry.note,
            "evidence": entry.evidence,
            "recorded_by": entry.recorded_by_id,
            "approved_by": entry.approved_by_id,
            "reversal_of": entry.reversal_of_id,
            "request_key": entry.request_key,
            "redemption": entry.redemption_id,
            "created_at": entry.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        assert entry.prev_hash == previous
        assert entry.hash == hashlib.sha256(f"{previous}\n{content}".encode()).hexdigest(), entry.seq
        previous = entry.hash
    assert len({e.hash for e in entries}) == len(entries)
    book = session.get(LedgerBook, village_id)
    assert (book.entry_count, book.head_hash) == (6, entries[-1].hash)
