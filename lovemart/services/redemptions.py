"""Redemption (兑换) at the counter: points for goods in one transaction, idempotently, and its cancellation.

`redeem` locks, in this fixed order, the village's ledger book (which serialises the village's points
writes and makes the idempotency check race-free), each product's stock (sorted ids), then the account's
balance; it fails whole on a dead card, too few points or too little stock. The ledger entry, the stock
movements and the redemption with its lines are written together or not at all.
"""

import hashlib
import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lovemart.db import utcnow
from lovemart.models import (
    Card,
    LedgerEntry,
    PointsAccount,
    Product,
    Redemption,
    RedemptionLine,
    StockMovement,
    Village,
)
from lovemart.models.cards import CardStatus
from lovemart.models.inventory import MovementKind
from lovemart.models.points import AccountStatus, EntryKind
from lovemart.services import audit, inventory, points
from lovemart.services.audit import AuditTag
from lovemart.services.errors import (
    AccountFrozen,
    CardNotActive,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    RedemptionCancelled,
)

MAX_LINES = 50
MAX_QUANTITY = 999


@dataclass(frozen=True)
class CartLine:
    product_id: int
    quantity: int


def redeem(
    session: Session,
    *,
    actor,
    village_id: int,
    card_number: str,
    lines: list[CartLine],
    idempotency_key: str,
) -> Redemption:
    """Exchange points for goods. The same key with the same request returns the first redemption.

    :raise CardNotActive, AccountFrozen, InsufficientPoints, OutOfStock, IdempotencyConflict, InvalidInput:
    """
    cart = _merged(lines)
    key = (idempotency_key or "").strip()
    if not key or len(key) > 80:
        raise InvalidInput(_l("缺少请求编号，请刷新页面后重试。"), field="idempotency_key")
    digest = _digest(card_number.strip().upper(), cart)
    book = points.lock_book(session, village_id)
    # Keys are unique across villages (the table's constraint), so look across villages too: a request
    # restricted to village b must see that village a used the key, or it would hit the constraint.
    done = session.scalar(
        select(Redemption).where(Redemption.idempotency_key == key).execution_options(all_villages=True)
    )
    if done is not None:
        if done.request_digest != digest or done.village_id != village_id:
            raise IdempotencyConflict()
        return done
    card = _active_card(session, village_id, card_number)
    account = session.get(PointsAccount, card.account_id)
    if account.status != AccountStatus.ACTIVE:
        raise AccountFrozen()
    products = {
        p.id: p
        for p in session.scalars(
            select(Product).where(
                Product.village_id == village_id, Product.id.in_([line.product_id for line in cart])
            )
        )
    }
    for line in cart:
        product = products.get(line.product_id)
        if product is None or not product.active:
            raise InvalidInput(_l("有商品已下架或不存在，请刷新页面。"), field="lines")
    total = sum(products[line.product_id].points_price * line.quantity for line in cart)
    book.receipt_count += 1
    prefix = session.scalar(select(Village.card_prefix).where(Village.id == village_id))
    redemption = Redemption(
        village_id=village_id,
        receipt_no=f"{prefix}-{book.receipt_count:06d}",
        account_id=account.id,
        household_id=card.household_id,
        card_id=card.id,
        total_points=total,
        balance_after=0,
        status="completed",
        idempotency_key=key,
        request_digest=digest,
        recorded_by_id=_id(actor),
        created_at=utcnow(),
    )
    session.add(redemption)
    session.flush()
    for line in cart:  # sorted by product id: a fixed lock order
        product = products[line.product_id]
        inventory.move(
            session,
            actor=actor,
            village_id=village_id,
            product_id=product.id,
            quantity=-line.quantity,
            kind=MovementKind.REDEMPTION,
            redemption_id=redemption.id,
        )
        session.add(
            RedemptionLine(
                redemption_id=redemption.id,
                product_id=product.id,
                product_name=product.name,
                unit=product.unit,
                quantity=line.quantity,
                unit_points=product.points_price,
                points=product.points_price * line.quantity,
            )
        )
    entry = points.append_entry(
        session,
        recorded_by_id=_id(actor),
        account=account,
        points=-total,
        kind=EntryKind.REDEMPTION,
        note=str(_l("兑换 %(receipt)s")) % {"receipt": redemption.receipt_no},
        redemption_id=redemption.id,
        book=book,
    )
    redemption.balance_after = entry.balance_after
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.REDEMPTION_CREATE,
        subject=redemption,
        village_id=village_id,
        data={
            "receipt_no": redemption.receipt_no,
            "points": total,
            "lines": [[line.product_id, line.quantity] for line in cart],
        },
    )
    return redemption


def cancel(session: Session, *, actor, village_id: int, redemption_id: int, reason: str) -> Redemption:
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
        )
    entry = session.scalar(select(LedgerEntry).where(LedgerEntry.redemption_id == redemption.id))
    points.append_reversal(session, actor=actor, original=entry, reason=reason)
    redemption.status = "cancelled"
    redemption.cancelled_at = utcnow()
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


def _active_card(session: Session, village_id: int, card_number: str) -> Card:
    card = session.scalar(
        select(Card).where(Card.village_id == village_id, Card.number == card_number.strip().upper())
    )
    if card is None:
        raise NotFound()
    if card.status != CardStatus.ACTIVE:
        raise CardNotActive()
    return card


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
