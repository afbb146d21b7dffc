"""Redemption (兑换) at the counter: points for goods in one transaction, idempotently, and its cancellation.

`redeem` is the counter's hot path, written in Core statements on the session's connection (about a dozen,
each a keyed lookup or a conditional UPDATE, no ORM flush): the time it holds the writer's lock is what
bounds a county's redemptions per second. It locks, in this fixed order, the village's ledger book (which
serialises the village's points writes and makes the idempotency check race-free), the account's balance,
then each product's stock (sorted ids); it fails whole on a dead card, a household that moved out, too few
points or too little stock. The ledger entry, the stock movements and the redemption with its lines are
written together or not at all.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from lovemart.db import utcnow
from lovemart.models import (
    Card,
    Household,
    LedgerBook,
    LedgerEntry,
    PointsAccount,
    Product,
    Redemption,
    RedemptionLine,
    StockMovement,
    Village,
)
from lovemart.models.inventory import MovementKind
from lovemart.models.points import EntryKind
from lovemart.services import audit, inventory, points
from lovemart.services.audit import AuditTag
from lovemart.services.errors import (
    CartOutdated,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    PriceChanged,
    RedemptionCancelled,
)

MAX_LINES = 50
MAX_QUANTITY = 999

# The hot path's statements, built once: building and keying a statement costs more than running it.
_cards, _villages, _products = Card.__table__, Village.__table__, Product.__table__
_households, _accounts = Household.__table__, PointsAccount.__table__
_redemptions, _books = Redemption.__table__, LedgerBook.__table__
_REPLAY = select(
    _redemptions.c.village_id,
    _redemptions.c.request_digest,
    _redemptions.c.id,
    _redemptions.c.receipt_no,
    _redemptions.c.total_points,
    _redemptions.c.balance_after,
    _redemptions.c.created_at,
).where(_redemptions.c.idempotency_key == bindparam("key"))
_CARD = (  # the card with what `points.ensure_usable` asks of its household and account: one keyed lookup
    select(
        _cards.c.id,
        _cards.c.account_id,
        _cards.c.household_id,
        _cards.c.status,
        _villages.c.card_prefix,
        _households.c.active.label("household_active"),
        _accounts.c.status.label("account_status"),
        _accounts.c.balance,
    )
    .join(_villages, _villages.c.id == _cards.c.village_id)
    .join(_households, _households.c.id == _cards.c.household_id)
    .join(_accounts, _accounts.c.id == _cards.c.account_id)
    .where(_cards.c.village_id == bindparam("village"), _cards.c.number == bindparam("number"))
)
_PRODUCTS = select(
    _products.c.id,
    _products.c.name,
    _products.c.unit,
    _products.c.points_price,
    _products.c.active,
    _products.c.stock,
).where(_products.c.village_id == bindparam("village"), _products.c.id.in_(bindparam("ids", expanding=True)))
_INSERT = insert(_redemptions).returning(_redemptions.c.id)
_INSERT_LINES = insert(RedemptionLine.__table__)
_COUNT_RECEIPT = (
    update(_books).where(_books.c.village_id == bindparam("village")).values(receipt_count=bindparam("count"))
)


@dataclass(frozen=True)
class CartLine:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class Seen:
    """What the counter showed when the cart was built: the account's balance and, per product on the page,
    its (points price, stock). A confirm that carries it is refused with `CartOutdated` when the balance, or
    the price or stock of a product in the cart, is no longer what the cadre and the villager looked at."""

    balance: int
    goods: dict[int, tuple[int, int]]


@dataclass(frozen=True)
class Receipt:
    """What a redemption said when it was made; never changes afterwards (a return marks the row only)."""

    id: int
    receipt_no: str
    total_points: int
    balance_after: int
    created_at: datetime


def redeem(
    session: Session,
    *,
    actor,
    village_id: int,
    card_number: str,
    lines: list[CartLine],
    idempotency_key: str,
    seen: Seen | None = None,
    at: datetime | None = None,
    expected_total: int | None = None,
    settling: bool = False,
) -> Receipt:
    """Exchange points for goods (`at`: the moment, when it is not now). The same key with the same
    request returns the first redemption, even when `seen` is outdated by then (a double click).
    `expected_total` is what the villager was told (an offline receipt): a different total at today's prices
    is refused. `settling` books a redemption the supervisor accepted after the goods left the shop: the
    card's state no longer matters and the balance may go below zero (stock may not).

    :raise CardNotActive, HouseholdInactive, AccountFrozen (`points.ensure_usable`), InsufficientPoints,
        OutOfStock, InvalidInput, PriceChanged:
    :raise IdempotencyConflict: the key was used for another request; it names the first redemption
        when that was this village's.
    :raise CartOutdated: `seen` is given and no longer true (read under the village's book lock, so no
        points write can slip in between the check and the debit).
    """
    cart = _merged(lines)
    key = (idempotency_key or "").strip()
    if not key or len(key) > 80:
        raise InvalidInput(_l("缺少请求编号，请刷新页面后重试。"), field="idempotency_key")
    number = card_number.strip().upper()
    digest = _digest(number, cart)
    connection = session.connection()
    head, receipts = points.lock_head(session, village_id)
    # Keys are unique across villages (the table's constraint), so look across villages too: a request
    # restricted to village b must see that village a used the key, or it would hit the constraint.
    done = connection.execute(_REPLAY, {"key": key}).one_or_none()
    if done is not None:
        if done.village_id != village_id:
            raise IdempotencyConflict()
        if done.request_digest != digest:
            raise IdempotencyConflict(first=Receipt(*done[2:]))
        return Receipt(*done[2:])
    card = connection.execute(_CARD, {"village": village_id, "number": number}).one_or_none()
    if card is None:
        raise NotFound()
    if not settling:
        points.ensure_usable(
            card_status=card.status,
            household_active=card.household_active,
            account_status=card.account_status,
        )
    products = {
        row.id: row
        for row in connection.execute(
            _PRODUCTS, {"village": village_id, "ids": [line.product_id for line in cart]}
        )
    }
    if any(line.product_id not in products or not products[line.product_id].active for line in cart):
        raise InvalidInput(_l("有商品已下架或不存在，请刷新页面。"), field="lines")
    if seen is not None and _outdated(seen, card.balance, [products[line.product_id] for line in cart]):
        raise CartOutdated()
    total = sum(products[line.product_id].points_price * line.quantity for line in cart)
    if expected_total is not None and total != expected_total:
        raise PriceChanged(then=expected_total, now=total)
    balance_after = points.move_balance(session, card.account_id, -total, allow_negative=settling)
    receipt_no, created_at = f"{card.card_prefix}-{receipts + 1:06d}", at or utcnow()
    redemption_id = connection.execute(
        _INSERT,
        {
            "village_id": village_id,
            "receipt_no": receipt_no,
            "account_id": card.account_id,
            "household_id": card.household_id,
            "card_id": card.id,
            "total_points": total,
            "balance_after": balance_after,
            "status": "completed",
            "idempotency_key": key,
            "request_digest": digest,
            "recorded_by_id": _id(actor),
            "created_at": created_at,
        },
    ).scalar_one()
    connection.execute(_COUNT_RECEIPT, {"village": village_id, "count": receipts + 1})
    for line in cart:  # sorted by product id: a fixed lock order
        inventory.move_stock(
            session,
            actor_id=_id(actor),
            village_id=village_id,
            product_id=line.product_id,
            quantity=-line.quantity,
            kind=MovementKind.REDEMPTION,
            redemption_id=redemption_id,
            created_at=created_at,
        )
    connection.execute(
        _INSERT_LINES,
        [
            {
                "redemption_id": redemption_id,
                "product_id": line.product_id,
                "product_name": products[line.product_id].name,
                "unit": products[line.product_id].unit,
                "quantity": line.quantity,
                "unit_points": products[line.product_id].points_price,
                "points": products[line.product_id].points_price * line.quantity,
            }
            for line in cart
        ],
    )
    points.write_entry(
        session,
        head=head,
        account_id=card.account_id,
        points=-total,
        balance_after=balance_after,
        kind=EntryKind.REDEMPTION.value,
        note=str(_l("兑换 %(receipt)s")) % {"receipt": receipt_no},
        recorded_by_id=_id(actor),
        redemption_id=redemption_id,
        created_at=created_at,
    )
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.REDEMPTION_CREATE,
        subject=("Redemption", redemption_id),
        village_id=village_id,
        data={
            "receipt_no": receipt_no,
            "points": total,
            "lines": [[line.product_id, line.quantity] for line in cart],
        },
        at=at,
    )
    return Receipt(redemption_id, receipt_no, total, balance_after, created_at)


def cancel(
    session: Session, *, actor, village_id: int, redemption_id: int, reason: str, at: datetime | None = None
) -> Redemption:
    """退货: reversal entries give the points back and return movements put the goods back; the original
    redemption stays in the books, marked cancelled. Cancelling twice is refused."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_l("请填写退货原因。"), field="reason")
    points.lock_book(session, village_id)
    redemption = get(session, village_id=village_id, redemption_id=redemption_id)
    if redemption.status == "cancelled":
        raise RedemptionCancelled()
    for line in sorted(lines_of(session, redemption.id), key=lambda line: line.product_id):
        inventory.move(
            session,
            actor=actor,
            village_id=village_id,
            product_id=line.product_id,
            quantity=line.quantity,
            kind=MovementKind.RETURN,
            redemption_id=redemption.id,
            note=reason,
            **inventory.moment(at),
        )
    entry = session.scalar(select(LedgerEntry).where(LedgerEntry.redemption_id == redemption.id))
    points.append_reversal(session, actor=actor, original=entry, reason=reason, at=at)
    redemption.status = "cancelled"
    redemption.cancelled_at = at or utcnow()
    redemption.cancelled_by_id = _id(actor)
    redemption.cancel_reason = reason
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.REDEMPTION_CANCEL,
        subject=redemption,
        village_id=village_id,
        data={"receipt_no": redemption.receipt_no, "reason": reason},
        at=at,
    )
    return redemption


def get(session: Session, *, village_id: int, redemption_id: int) -> Redemption:
    redemption = session.scalar(
        select(Redemption).where(Redemption.id == redemption_id, Redemption.village_id == village_id)
    )
    if redemption is None:
        raise NotFound()
    return redemption


def latest(session: Session, *, village_id: int, limit: int = 20) -> list[Redemption]:
    """The village's latest redemptions, newest first (the counter's list of today's sales).

    Ordered by receipt number, which the unique (village, receipt_no) index serves, so the cost is `limit`
    rows however long the books grow; the caller keeps the ones of the day it shows."""
    return list(
        session.scalars(
            select(Redemption)
            .where(Redemption.village_id == village_id)
            .order_by(Redemption.receipt_no.desc())
            .limit(limit)
        )
    )


def lines_of(session: Session, redemption_id: int) -> list[RedemptionLine]:
    return list(
        session.scalars(
            select(RedemptionLine)
            .where(RedemptionLine.redemption_id == redemption_id)
            .order_by(RedemptionLine.id)
        )
    )


def _merged(lines: list[CartLine]) -> list[CartLine]:
    """One line per product, sorted by product id; quantities checked."""
    if not lines:
        raise InvalidInput(_l("购物车是空的。"), field="lines")
    if len(lines) > MAX_LINES:
        raise InvalidInput(_l("一次最多兑换 %(n)d 种商品。") % {"n": MAX_LINES}, field="lines")
    totals: dict[int, int] = {}
    for line in lines:
        if line.quantity <= 0 or line.quantity > MAX_QUANTITY:
            raise InvalidInput(_l("数量必须在 1 到 %(n)d 之间。") % {"n": MAX_QUANTITY}, field="lines")
        totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
    return [CartLine(pid, qty) for pid, qty in sorted(totals.items())]


def _outdated(seen: Seen, balance: int, products) -> bool:
    if seen.balance != balance:
        return True
    return any(seen.goods.get(p.id) != (p.points_price, p.stock) for p in products)


def _digest(card_number: str, cart: list[CartLine]) -> str:
    lines = [[line.product_id, line.quantity] for line in cart]
    body = json.dumps({"card": card_number, "lines": lines}, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _id(user) -> int | None:
    return user.id if user is not None else None


@dataclass(frozen=True)
class Broken:
    village_id: int
    receipt_no: str
    what: str


def verify(session: Session) -> list[Broken]:
    """Every redemption is whole: its ledger entry debits its total and its stock movements take its lines.
    (Balances and stock levels can each add up while a redemption lacks one half; this finds that.)"""
    debited = dict(
        session.execute(
            select(LedgerEntry.redemption_id, func.sum(LedgerEntry.points))
            .where(LedgerEntry.kind == EntryKind.REDEMPTION, LedgerEntry.redemption_id.is_not(None))
            .group_by(LedgerEntry.redemption_id)
        ).all()
    )
    taken = dict(
        session.execute(
            select(StockMovement.redemption_id, func.sum(StockMovement.quantity))
            .where(StockMovement.kind == MovementKind.REDEMPTION, StockMovement.redemption_id.is_not(None))
            .group_by(StockMovement.redemption_id)
        ).all()
    )
    ordered = dict(
        session.execute(
            select(RedemptionLine.redemption_id, func.sum(RedemptionLine.quantity)).group_by(
                RedemptionLine.redemption_id
            )
        ).all()
    )
    problems = []
    stmt = select(Redemption.id, Redemption.village_id, Redemption.receipt_no, Redemption.total_points)
    for id_, village_id, receipt_no, total in session.execute(stmt.order_by(Redemption.id)):
        if debited.get(id_) != -total:
            problems.append(Broken(village_id, receipt_no, f"points debited {debited.get(id_)} ≠ -{total}"))
        if taken.get(id_) != -ordered.get(id_, 0):
            problems.append(
                Broken(village_id, receipt_no, f"goods taken {taken.get(id_)} ≠ -{ordered.get(id_)}")
            )
    return problems
