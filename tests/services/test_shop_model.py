"""Model-based test of the shop's books: a hypothesis state machine drives the services (award, deduct,
redeem, retry, retry with a changed body, reverse, cancel, reissue a card, recover a card, stocktake) and
keeps a small model of what each household and product should hold. After every step:

- every balance equals the sum of its entries and every stock level its movements (`verify`, all three);
- the services agree with the model: a redemption succeeds exactly when the card is live, the account
  active, the points and the stock enough; balances and stock are what the model says;
- no balance goes below zero except through a reversal, and no stock below zero;
- one effect per idempotency key: a retry returns the first redemption, a changed body is refused;
- a refused operation changes nothing, and entries written earlier are never changed.

Each run works in a village of its own inside one migrated database. `make soak` runs it longer.
"""

import itertools
import os
import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from lovemart.db import unit_of_work
from lovemart.models import Card, LedgerEntry, PointsAccount, Product, Redemption
from lovemart.models.cards import CardStatus
from lovemart.services import cards, inventory, points, redemptions
from lovemart.services.errors import (
    AccountFrozen,
    CardNotActive,
    DomainError,
    IdempotencyConflict,
    InsufficientPoints,
    OutOfStock,
)
from lovemart.services.redemptions import CartLine
from tests.factories import make_village
from tests.points_helpers import carded_household, make_rule
from tests.shop_helpers import make_product

SOAK = os.environ.get("LOVEMART_SOAK") == "1"
BASE = 30
PRICES = (7, 12)
_villages = itertools.count(1)

household = st.integers(0, 2)
product = st.integers(0, len(PRICES) - 1)
quantity = st.integers(1, 3)
pick = st.integers(0, 1000)  # which entry or redemption, modulo how many there are


class ShopBooks(RuleBasedStateMachine):
    def __init__(self, session):
        super().__init__()
        self.session = session

    @initialize()
    def open_shop(self):
        self.village_id = make_village(f"m{next(_villages)}", base_points=BASE)
        self.households = [carded_household(self.village_id)[0] for _ in range(3)]
        self.award_rule = make_rule(self.village_id, "义务劳动", "volunteer", 10)
        self.deduct_rule = make_rule(self.village_id, "乱扔垃圾", "deduction", -8)
        self.products = [
            make_product(self.village_id, f"商品{n}", price, stock=5) for n, price in enumerate(PRICES)
        ]
        self.balance = [BASE] * 3
        self.frozen = [False] * 3
        self.reversed_into_debt = [False] * 3
        self.stock = [5] * len(PRICES)
        self.keys: dict[str, tuple[str, int, int, int]] = {}  # key → (card number, product, qty, redemption)
        self.dead_numbers: list[str] = []
        self.entries = self._entries()

    # ---- helpers ---------------------------------------------------------------------------------------

    def _entries(self) -> dict[int, tuple]:
        self.session.expire_all()
        rows = self.session.execute(
            select(LedgerEntry.id, LedgerEntry.hash, LedgerEntry.points, LedgerEntry.balance_after).where(
                LedgerEntry.village_id == self.village_id
            )
        )
        return {row[0]: tuple(row[1:]) for row in rows}

    def _number(self, h: int) -> str | None:
        with unit_of_work() as s:
            card = cards.active_card(s, village_id=self.village_id, household_id=self.households[h])
            return card and card.number

    def _refused(self, error_types, call) -> None:
        """`call` must raise one of `error_types` and leave the books exactly as they were."""
        before = (self._entries(), self._levels(), self._redemption_count())
        try:
            with unit_of_work() as s:
                call(s)
        except error_types:
            assert (self._entries(), self._levels(), self._redemption_count()) == before
            return
        raise AssertionError(f"expected {error_types} to be refused")

    def _levels(self):
        self.session.expire_all()
        return (
            tuple(
                self.session.scalars(
                    select(PointsAccount.balance)
                    .where(PointsAccount.village_id == self.village_id)
                    .order_by(PointsAccount.household_id)
                )
            ),
            tuple(
                self.session.scalars(
                    select(Product.stock).where(Product.village_id == self.village_id).order_by(Product.id)
                )
            ),
        )

    def _redemption_count(self) -> int:
        return len(
            self.session.scalars(select(Redemption.id).where(Redemption.village_id == self.village_id)).all()
        )

    def _redeem(self, s, number, p, qty, key):
        return redemptions.redeem(
            s,
            actor=None,
            village_id=self.village_id,
            card_number=number,
            lines=[CartLine(self.products[p], qty)],
            idempotency_key=key,
        ).id

    # ---- rules -----------------------------------------------------------------------------------------

    @rule(h=household)
    def award(self, h):
        def call(s):
            points.award(
                s,
                actor=None,
                village_id=self.village_id,
                household_id=self.households[h],
                rule_id=self.award_rule,
                note="模型测试",
            )

        if self.frozen[h]:
            return self._refused(AccountFrozen, call)
        with unit_of_work() as s:
            call(s)
        self.balance[h] += 10

    @rule(h=household)
    def deduct(self, h):
        def call(s):
            points.award(
                s,
                actor=None,
                village_id=self.village_id,
                household_id=self.households[h],
                rule_id=self.deduct_rule,
                note="模型测试",
            )

        if self.frozen[h] or self.balance[h] < 8:
            return self._refused((AccountFrozen, InsufficientPoints), call)
        with unit_of_work() as s:
            call(s)
        self.balance[h] -= 8

    @rule(h=household, p=product, qty=quantity, dead=st.booleans())
    def redeem(self, h, p, qty, dead):
        number = self._number(h)
        if dead and self.dead_numbers:
            number = self.dead_numbers[h % len(self.dead_numbers)]
        key = uuid.uuid4().hex
        cost = PRICES[p] * qty
        if number is None or number in self.dead_numbers:
            if number is not None:
                self._refused(CardNotActive, lambda s: self._redeem(s, number, p, qty, key))
            return
        if self.balance[h] < cost or self.stock[p] < qty:
            return self._refused(
                (InsufficientPoints, OutOfStock), lambda s: self._redeem(s, number, p, qty, key)
            )
        with unit_of_work() as s:
            redemption_id = self._redeem(s, number, p, qty, key)
        self.balance[h] -= cost
        self.stock[p] -= qty
        self.keys[key] = (number, p, qty, redemption_id)

    @precondition(lambda self: self.keys)
    @rule(which=pick)
    def retry(self, which):
        key = sorted(self.keys)[which % len(self.keys)]
        number, p, qty, redemption_id = self.keys[key]
        before = (self._entries(), self._levels(), self._redemption_count())
        with unit_of_work() as s:
            assert self._redeem(s, number, p, qty, key) == redemption_id
        assert (self._entries(), self._levels(), self._redemption_count()) == before

    @precondition(lambda self: self.keys)
    @rule(which=pick)
    def retry_with_a_changed_body(self, which):
        key = sorted(self.keys)[which % len(self.keys)]
        number, p, qty, _ = self.keys[key]
        self._refused(IdempotencyConflict, lambda s: self._redeem(s, number, p, qty + 1, key))

    @rule(which=pick)
    def reverse(self, which):
        ids = sorted(self.entries)
        entry_id = ids[which % len(ids)]
        before = self._entries()

        def call(s):
            return points.reverse(
                s, actor=None, village_id=self.village_id, entry_id=entry_id, reason="记错了"
            )

        try:
            with unit_of_work() as s:
                reversal = call(s)
                h = self._household_of(s, reversal.account_id)
                points_ = reversal.points
        except DomainError:
            assert self._entries() == before
            return
        self.balance[h] += points_
        if self.balance[h] < 0:
            self.reversed_into_debt[h] = True

    @precondition(lambda self: self.keys)
    @rule(which=pick)
    def cancel(self, which):
        key = sorted(self.keys)[which % len(self.keys)]
        number, p, qty, redemption_id = self.keys[key]
        before = (self._entries(), self._levels())
        try:
            with unit_of_work() as s:
                cancelled = redemptions.cancel(
                    s, actor=None, village_id=self.village_id, redemption_id=redemption_id, reason="退货"
                )
                h = self._household_of(s, cancelled.account_id)
        except DomainError:
            assert (self._entries(), self._levels()) == before
            return
        self.balance[h] += PRICES[p] * qty
        self.stock[p] += qty

    @rule(h=household)
    def reissue_card(self, h):
        number = self._number(h)
        if number is None:
            return
        with unit_of_work() as s:
            card = cards.active_card(s, village_id=self.village_id, household_id=self.households[h])
            cards.reissue(s, actor=None, village_id=self.village_id, card_id=card.id)
        self.dead_numbers.append(number)

    @rule(h=household)
    def recover_card(self, h):
        number = self._number(h)
        if number is None:
            return
        with unit_of_work() as s:
            card = cards.active_card(s, village_id=self.village_id, household_id=self.households[h])
            cards.recover(s, actor=None, village_id=self.village_id, card_id=card.id)
        self.dead_numbers.append(number)
        self.frozen[h] = True

    @rule(p=product, counted=st.integers(0, 12))
    def stocktake(self, p, counted):
        with unit_of_work() as s:
            sheet = inventory.start_stocktake(s, actor=None, village_id=self.village_id, zone_id=None)
            inventory.record_counts(
                s, village_id=self.village_id, stocktake_id=sheet.id, counts={self.products[p]: counted}
            )
            inventory.confirm_stocktake(s, actor=None, village_id=self.village_id, stocktake_id=sheet.id)
        self.stock[p] = counted

    def _household_of(self, s, account_id: int) -> int:
        return self.households.index(s.get(PointsAccount, account_id).household_id)

    # ---- invariants ------------------------------------------------------------------------------------

    @invariant()
    def books_verify_and_match_the_model(self):
        session = self.session
        session.expire_all()
        assert points.verify(session, village_ids=[self.village_id]) == []
        assert inventory.verify(session, village_ids=[self.village_id]) == []
        assert [p for p in redemptions.verify(session) if p.village_id == self.village_id] == []
        balances, levels = self._levels()
        assert list(balances) == self.balance
        assert list(levels) == self.stock and min(levels) >= 0
        for h, balance in enumerate(balances):
            assert balance >= 0 or self.reversed_into_debt[h]

    @invariant()
    def one_redemption_per_key_and_earlier_entries_unchanged(self):
        assert self._redemption_count() == len(self.keys)
        now = self._entries()
        assert {k: now[k] for k in self.entries} == self.entries
        self.entries = now

    @invariant()
    def dead_cards_stay_dead(self):
        if self.dead_numbers:
            statuses = self.session.scalars(
                select(Card.status).where(
                    Card.village_id == self.village_id, Card.number.in_(self.dead_numbers)
                )
            ).all()
            assert CardStatus.ACTIVE not in statuses


@pytest.mark.soak
def test_any_sequence_of_counter_work_keeps_the_books(session):
    run_state_machine_as_test(
        lambda: ShopBooks(session),
        settings=settings(
            max_examples=60 if SOAK else 8,
            stateful_step_count=40 if SOAK else 20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
