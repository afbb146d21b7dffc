"""Property: whatever sequence of awards, deductions (some allowed to go negative), batch awards, reversals,
approvals, rejections and replayed requests the staff send, the books stay true:

- every stored balance equals the sum of the account's entries, and each entry's `balance_after` is the
  running sum in ledger order;
- `points.verify()` finds nothing (hash chain, sequence, balances);
- a refused operation changes nothing at all;
- only a reversal, or a rule that allows it, takes a balance below zero;
- an entry is reversed at most once, by its exact opposite; a replayed request key records nothing new.

Each example works in a village of its own inside one migrated database, so examples need no reset.
"""

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from lovemart.db import unit_of_work
from lovemart.models import LedgerEntry, PointsAccount, PointsClaim
from lovemart.models.points import ClaimStatus
from lovemart.services import points
from lovemart.services.errors import DomainError
from tests.factories import make_village
from tests.points_helpers import carded_household, make_rule

HOUSEHOLDS = 3
RULES = {
    # name: (category, points, options)
    "labour": ("volunteer", 10, {}),
    "meeting": ("collective", 2, {"cap_per_month": 4}),
    "litter": ("deduction", -5, {"repeat_points": (-5, -10, -20)}),
    "heavy": ("deduction", -60, {}),
    "debt": ("deduction", -30, {"allow_negative": True}),
    "honour": ("honour", 20, {"requires_approval": True}),
}
_villages = itertools.count(1)

household = st.integers(0, HOUSEHOLDS - 1)
rule = st.sampled_from(sorted(RULES))
pick = st.integers(0, 50)  # which entry or claim, modulo how many there are
key = st.one_of(st.none(), st.sampled_from(["k1", "k2", "k3"]))
operation = st.one_of(
    st.tuples(st.just("award"), household, rule, key),
    st.tuples(st.just("batch"), st.sets(household, min_size=1), rule, key),
    st.tuples(st.just("reverse"), pick, key),
    st.tuples(st.just("approve"), pick),
    st.tuples(st.just("reject"), pick),
)


@pytest.fixture
def points_app(session):
    """The migrated database of the `session` fixture; each example adds a village of its own to it."""
    return session


def _world():
    code = f"p{next(_villages)}"
    village_id = make_village(code, base_points=50)
    households = [carded_household(village_id)[0] for _ in range(HOUSEHOLDS)]
    rules = {
        name: make_rule(village_id, name, category, value, **options)
        for name, (category, value, options) in RULES.items()
    }
    return village_id, households, rules


def _snapshot(session, village_id):
    session.expire_all()
    balances = tuple(
        session.scalars(
            select(PointsAccount.balance)
            .where(PointsAccount.village_id == village_id)
            .order_by(PointsAccount.id)
        )
    )
    entry_count = session.query(LedgerEntry).filter_by(village_id=village_id).count()
    claims = tuple(
        session.execute(
            select(PointsClaim.id, PointsClaim.status)
            .where(PointsClaim.village_id == village_id)
            .order_by(PointsClaim.id)
        )
    )
    return balances, entry_count, claims


def _run(session, village_id, households, rules, op):
    kind = op[0]
    with unit_of_work() as s:
        if kind == "award":
            _, h, name, request_key = op
            points.award(
                s,
                actor=None,
                village_id=village_id,
                household_id=households[h],
                rule_id=rules[name],
                note="性质测试",
                request_key=request_key and f"{village_id}-{request_key}",
            )
        elif kind == "batch":
            _, chosen, name, request_key = op
            points.award_batch(
                s,
                actor=None,
                village_id=village_id,
                household_ids=[households[h] for h in chosen],
                rule_id=rules[name],
                request_key=request_key and f"{village_id}-batch-{request_key}",
            )
        elif kind == "reverse":
            _, which, request_key = op
            ids = s.scalars(
                select(LedgerEntry.id).where(LedgerEntry.village_id == village_id).order_by(LedgerEntry.id)
            ).all()
            points.reverse(
                s,
                actor=None,
                village_id=village_id,
                entry_id=ids[which % len(ids)],
                reason="记错了",
                request_key=request_key and f"{village_id}-rev-{request_key}",
            )
        else:
            _, which = op
            ids = s.scalars(
                select(PointsClaim.id).where(PointsClaim.village_id == village_id).order_by(PointsClaim.id)
            ).all()
            if not ids:
                return
            claim_id = ids[which % len(ids)]
            if kind == "approve":
                points.approve(s, actor=None, village_id=village_id, claim_id=claim_id)
            else:
                points.reject(s, actor=None, village_id=village_id, claim_id=claim_id, reason="不符合")


def _check_books(session, village_id, rules):
    session.expire_all()
    assert points.verify(session, village_ids=[village_id]) == []
    allow_negative = {rules["debt"]}
    for account in session.scalars(select(PointsAccount).where(PointsAccount.village_id == village_id)):
        entries = session.scalars(
            select(LedgerEntry).where(LedgerEntry.account_id == account.id).order_by(LedgerEntry.seq)
        ).all()
        running = 0
        for entry in entries:
            running += entry.points
            assert entry.balance_after == running
            if entry.points < 0 and entry.kind != "reversal" and entry.rule_id not in allow_negative:
                assert entry.balance_after >= 0, "a deduction not allowed to go negative did"
        assert account.balance == running == points.recompute_balance(session, account.id)
    by_id = {
        e.id: e for e in session.scalars(select(LedgerEntry).where(LedgerEntry.village_id == village_id))
    }
    reversed_ids = [e.reversal_of_id for e in by_id.values() if e.reversal_of_id is not None]
    assert len(reversed_ids) == len(set(reversed_ids))
    for entry in by_id.values():
        if entry.reversal_of_id is not None:
            assert entry.points == -by_id[entry.reversal_of_id].points
            assert by_id[entry.reversal_of_id].kind != "reversal"
    for claim in session.scalars(select(PointsClaim).where(PointsClaim.village_id == village_id)):
        assert (claim.status == ClaimStatus.APPROVED) == (claim.entry_id is not None)
        if claim.entry_id is not None:
            assert by_id[claim.entry_id].points == claim.points


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=1, max_size=14))
def test_random_operations_keep_the_books_true(points_app, operations):
    session = points_app
    village_id, households, rules = _world()
    for op in operations:
        before = _snapshot(session, village_id)
        try:
            _run(session, village_id, households, rules, op)
        except DomainError:
            assert _snapshot(session, village_id) == before, f"refused {op} but changed something"
        _check_books(session, village_id, rules)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(h=household, name=rule, times=st.integers(2, 4))
def test_a_replayed_request_key_records_once(points_app, h, name, times):
    session = points_app
    village_id, households, rules = _world()
    results = []
    for _ in range(times):
        before = _snapshot(session, village_id)
        try:
            with unit_of_work() as s:
                recorded = points.award(
                    s,
                    actor=None,
                    village_id=village_id,
                    household_id=households[h],
                    rule_id=rules[name],
                    request_key=f"{village_id}-same",
                )
                results.append((recorded.entry and recorded.entry.id, recorded.claim and recorded.claim.id))
        except DomainError:
            assert _snapshot(session, village_id) == before
    assert len(set(results)) <= 1
    _check_books(session, village_id, rules)
