"""Donors, funds and donations: donated goods go into stock naming their donation, donated money into a
fund; purchases draw on a fund and come in as stock-ins with their cost. Amounts are in fen (分)."""

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lovemart.db import utcnow
from lovemart.models import Donation, Donor, Fund, FundMovement, Product, Purchase, StockMovement
from lovemart.models.donations import DonorKind, FundKind
from lovemart.services import audit, idempotency, inventory, points, totals
from lovemart.services.audit import AuditTag
from lovemart.services.errors import FundTooLow, IdempotencyConflict, InvalidInput, NotFound
from lovemart.services.inventory import StockInLine
from lovemart.services.paging import Page


@dataclass(frozen=True)
class DonationOutcome:
    donation: Donation
    movements: list[StockMovement]


def save_donor(
    session: Session,
    *,
    actor,
    village_id: int,
    name: str,
    kind: str,
    contact: str = "",
    phone: str = "",
    donor_id: int | None = None,
) -> Donor:
    name = name.strip()
    if not name:
        raise InvalidInput(_l("请填写捐赠方名称。"), field="name")
    if kind not in {k.value for k in DonorKind}:
        raise InvalidInput(_l("请选择爱心企业或爱心人士。"), field="kind")
    clash = session.scalar(select(Donor.id).where(Donor.village_id == village_id, Donor.name == name))
    if clash is not None and clash != donor_id:
        raise InvalidInput(_l("已有同名捐赠方。"), field="name")
    if donor_id is None:
        donor = Donor(
            village_id=village_id, name=name, kind=kind, contact=contact.strip(), phone=phone.strip()
        )
        session.add(donor)
    else:
        donor = get_donor(session, village_id=village_id, donor_id=donor_id)
        donor.name, donor.kind, donor.contact, donor.phone = name, kind, contact.strip(), phone.strip()
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.DONOR_SAVE,
        subject=donor,
        village_id=village_id,
        data={"name": name, "kind": kind},
    )
    return donor


def get_donor(session: Session, *, village_id: int, donor_id: int) -> Donor:
    donor = session.scalar(select(Donor).where(Donor.id == donor_id, Donor.village_id == village_id))
    if donor is None:
        raise NotFound()
    return donor


def donors(session: Session, *, village_id: int) -> list[Donor]:
    return list(session.scalars(select(Donor).where(Donor.village_id == village_id).order_by(Donor.name)))


def create_fund(session: Session, *, actor, village_id: int, name: str, kind: str) -> Fund:
    name = name.strip()
    if not name:
        raise InvalidInput(_l("请填写资金名称。"), field="name")
    if kind not in {k.value for k in FundKind}:
        raise InvalidInput(_l("未知的资金来源。"), field="kind")
    if session.scalar(select(Fund.id).where(Fund.village_id == village_id, Fund.name == name)) is not None:
        raise InvalidInput(_l("已有同名资金。"), field="name")
    fund = Fund(village_id=village_id, name=name, kind=kind, balance_fen=0)
    session.add(fund)
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.FUND_CREATE,
        subject=fund,
        village_id=village_id,
        data={"name": name, "kind": kind},
    )
    return fund


def funds(session: Session, *, village_id: int) -> list[Fund]:
    return list(session.scalars(select(Fund).where(Fund.village_id == village_id).order_by(Fund.id)))


def get_fund(session: Session, *, village_id: int, fund_id: int) -> Fund:
    fund = session.scalar(select(Fund).where(Fund.id == fund_id, Fund.village_id == village_id))
    if fund is None:
        raise NotFound()
    return fund


def receive_goods(
    session: Session,
    *,
    actor,
    village_id: int,
    donor_id: int,
    received_on: date,
    lines: list[StockInLine],
    note: str = "",
    request_key: str | None = None,
    at: datetime | None = None,
) -> DonationOutcome:
    """A donation of goods: the donation with its receipt number (捐赠凭证) and one stock-in per line
    (`at`: when it was recorded, if not now)."""
    if done := _replayed(session, request_key, village_id, donor_id):
        return DonationOutcome(
            done,
            list(
                session.scalars(
                    select(StockMovement)
                    .where(StockMovement.donation_id == done.id)
                    .order_by(StockMovement.id)
                )
            ),
        )
    donation = _donation(
        session, actor, village_id, donor_id, "goods", received_on, None, note, request_key, at
    )
    movements = inventory.stock_in(
        session,
        actor=actor,
        village_id=village_id,
        lines=lines,
        donation_id=donation.id,
        note=str(_l("捐赠入库")),
        at=at,
    )
    return DonationOutcome(donation, movements)


def receive_money(
    session: Session,
    *,
    actor,
    village_id: int,
    donor_id: int,
    fund_id: int,
    amount_fen: int,
    received_on: date,
    note: str = "",
    request_key: str | None = None,
    at: datetime | None = None,
) -> Donation:
    """A donation of money, credited to a fund."""
    if done := _replayed(session, request_key, village_id, donor_id):
        return done
    if amount_fen <= 0:
        raise InvalidInput(_l("捐款金额必须大于零。"), field="amount")
    fund = get_fund(session, village_id=village_id, fund_id=fund_id)
    donation = _donation(
        session, actor, village_id, donor_id, "money", received_on, amount_fen, note, request_key, at
    )
    _move_fund(session, actor, fund, amount_fen, kind="income", donation_id=donation.id, note=note, at=at)
    return donation


def add_funding(
    session: Session,
    *,
    actor,
    village_id: int,
    fund_id: int,
    amount_fen: int,
    note: str,
    at: datetime | None = None,
) -> FundMovement:
    """Money allocated to a fund by its source (扶贫局资助, 民政补贴, 村集体)."""
    if amount_fen <= 0:
        raise InvalidInput(_l("金额必须大于零。"), field="amount")
    fund = get_fund(session, village_id=village_id, fund_id=fund_id)
    movement = _move_fund(session, actor, fund, amount_fen, kind="income", note=note, at=at)
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.FUND_INCOME,
        subject=movement,
        village_id=village_id,
        data={"fund_id": fund.id, "amount_fen": amount_fen, "note": note.strip()},
        at=at,
    )
    return movement


def purchase(
    session: Session,
    *,
    actor,
    village_id: int,
    fund_id: int,
    bought_on: date,
    lines: list[StockInLine],
    supplier: str = "",
    note: str = "",
    request_key: str | None = None,
    at: datetime | None = None,
) -> Purchase:
    """Goods bought with a fund's money: the fund pays the sum of the lines' costs, the goods come in."""
    if done := idempotency.replayed(session, Purchase, request_key, village_id=village_id):
        if done.fund_id != fund_id:
            raise IdempotencyConflict()
        return done
    if not lines:
        raise InvalidInput(_l("请至少填写一种商品。"), field="lines")
    if any(line.cost_fen is None or line.cost_fen <= 0 for line in lines):
        raise InvalidInput(_l("采购的每种商品都要填写金额。"), field="cost")
    fund = get_fund(session, village_id=village_id, fund_id=fund_id)
    total = sum(line.cost_fen for line in lines)
    bought = Purchase(
        village_id=village_id,
        fund_id=fund.id,
        supplier=supplier.strip(),
        total_fen=total,
        bought_on=bought_on,
        note=note.strip(),
        request_key=request_key,
        recorded_by_id=_id(actor),
        created_at=at or utcnow(),
    )
    session.add(bought)
    session.flush()
    _move_fund(session, actor, fund, -total, kind="purchase", purchase_id=bought.id, note=supplier, at=at)
    inventory.stock_in(
        session,
        actor=actor,
        village_id=village_id,
        lines=lines,
        purchase_id=bought.id,
        note=str(_l("采购入库")),
        at=at,
    )
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.PURCHASE_RECORD,
        subject=bought,
        village_id=village_id,
        data={"fund_id": fund.id, "total_fen": total},
        at=at,
    )
    return bought


def get_donation(session: Session, *, village_id: int, donation_id: int) -> Donation:
    donation = session.scalar(
        select(Donation).where(Donation.id == donation_id, Donation.village_id == village_id)
    )
    if donation is None:
        raise NotFound()
    return donation


def what_it_became(session: Session, *, village_id: int, donation_id: int) -> list[StockMovement]:
    """The stock-ins a donation of goods became."""
    get_donation(session, village_id=village_id, donation_id=donation_id)
    return list(
        session.scalars(
            select(StockMovement).where(StockMovement.donation_id == donation_id).order_by(StockMovement.id)
        )
    )


def fund_movements(session: Session, *, village_id: int, fund_id: int) -> list[FundMovement]:
    get_fund(session, village_id=village_id, fund_id=fund_id)
    return list(
        session.scalars(
            select(FundMovement).where(FundMovement.fund_id == fund_id).order_by(FundMovement.id.desc())
        )
    )


@dataclass(frozen=True)
class DonationRow:
    donation: Donation
    donor: Donor


def donation_list(
    session: Session, *, village_id: int, donor_id: int | None = None, page: int = 1, per_page: int = 30
) -> Page:
    """The village's donations, newest first, each with its donor; optionally one donor's only."""
    stmt = select(Donation, Donor).join(Donor, Donor.id == Donation.donor_id)
    stmt = stmt.where(Donation.village_id == village_id)
    if donor_id is not None:
        stmt = stmt.where(Donation.donor_id == donor_id)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = max(1, page)
    stmt = stmt.order_by(Donation.received_on.desc(), Donation.id.desc())
    rows = session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    return Page(items=[DonationRow(*row) for row in rows], total=total, page=page, per_page=per_page)


@dataclass(frozen=True)
class GoodsLine:
    """A line of a donation or purchase as a person reads it: the product and its stock movement."""

    movement: StockMovement
    product: Product
    #: The sum of the stock-in's same-day corrections (更正入库), 0 when it was right.
    corrections: int = 0

    @property
    def quantity(self) -> int:
        """What this line really brought: the stock-in with its corrections."""
        return self.movement.quantity + self.corrections


def goods_lines(
    session: Session, *, village_id: int, donation_id: int | None = None, purchase_id: int | None = None
) -> list[GoodsLine]:
    """The stock-ins a donation of goods (or a purchase) became, with their products; a stock-in's
    corrections are folded into its line (`GoodsLine.quantity`), not listed as lines of their own."""
    if donation_id is not None:
        get_donation(session, village_id=village_id, donation_id=donation_id)
        link = StockMovement.donation_id == donation_id
    else:
        get_purchase(session, village_id=village_id, purchase_id=purchase_id)
        link = StockMovement.purchase_id == purchase_id
    rows = session.execute(
        select(StockMovement, Product)
        .join(Product, Product.id == StockMovement.product_id)
        .where(StockMovement.village_id == village_id, link)
        .order_by(StockMovement.id)
    ).all()
    corrections: dict[int, int] = {}
    for movement, _product in rows:
        if movement.corrects_id is not None:
            corrections[movement.corrects_id] = corrections.get(movement.corrects_id, 0) + movement.quantity
    return [
        GoodsLine(movement, product, corrections.get(movement.id, 0))
        for movement, product in rows
        if movement.corrects_id is None
    ]


def donation_income(
    session: Session, *, village_id: int, donation_id: int
) -> tuple[FundMovement, Fund] | None:
    """Where a donation of money went: the fund's income movement naming it, with the fund."""
    get_donation(session, village_id=village_id, donation_id=donation_id)
    row = session.execute(
        select(FundMovement, Fund)
        .join(Fund, Fund.id == FundMovement.fund_id)
        .where(FundMovement.village_id == village_id, FundMovement.donation_id == donation_id)
    ).first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class PurchaseRow:
    purchase: Purchase
    fund: Fund


def purchases(
    session: Session, *, village_id: int, fund_id: int | None = None, limit: int = 200
) -> list[PurchaseRow]:
    """The village's purchases, newest first, each with the fund that paid."""
    stmt = select(Purchase, Fund).join(Fund, Fund.id == Purchase.fund_id)
    stmt = stmt.where(Purchase.village_id == village_id)
    if fund_id is not None:
        stmt = stmt.where(Purchase.fund_id == fund_id)
    rows = session.execute(stmt.order_by(Purchase.bought_on.desc(), Purchase.id.desc()).limit(limit))
    return [PurchaseRow(*row) for row in rows]


def get_purchase(session: Session, *, village_id: int, purchase_id: int) -> Purchase:
    found = session.scalar(
        select(Purchase).where(Purchase.id == purchase_id, Purchase.village_id == village_id)
    )
    if found is None:
        raise NotFound()
    return found


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿", "万亿")


def amount_in_words(fen: int) -> str:
    """An amount in the capital figures of Chinese receipts (大写金额): 1234.50 元 → 壹仟贰佰叁拾肆元伍角."""
    if fen < 0:
        raise ValueError("amount_in_words takes a non-negative amount")
    yuan_part, cents = divmod(fen, 100)
    jiao, fen_digit = divmod(cents, 10)
    words = _integer_words(yuan_part) + "元" if yuan_part else ""
    if not jiao and not fen_digit:
        return (words or "零元") + "整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif words:
        words += "零"
    if fen_digit:
        words += _DIGITS[fen_digit] + "分"
    return words


def _integer_words(number: int) -> str:
    groups = []
    while number:
        number, group = divmod(number, 10000)
        groups.append(group)
    words, need_zero = "", False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if not group:
            need_zero = bool(words)
            continue
        if words and (need_zero or group < 1000):
            words += "零"
        words += _group_words(group) + _BIG_UNITS[index]
        need_zero = False
    return words


def _group_words(group: int) -> str:
    digits = [int(d) for d in f"{group:04d}"]
    words, zero = "", False
    started = False
    for position, digit in enumerate(digits):
        unit = _SMALL_UNITS[3 - position]
        if digit:
            if zero and started:
                words += "零"
            words += _DIGITS[digit] + unit
            zero, started = False, True
        else:
            zero = True
    return words


def _donation(
    session, actor, village_id, donor_id, kind, received_on, amount_fen, note, request_key, at=None
) -> Donation:
    donor = get_donor(session, village_id=village_id, donor_id=donor_id)
    book = points.lock_book(session, village_id)
    book.donation_count += 1
    donation = Donation(
        village_id=village_id,
        donor_id=donor.id,
        kind=kind,
        receipt_no=f"JZ{book.donation_count:05d}",
        received_on=received_on,
        amount_fen=amount_fen,
        note=note.strip(),
        request_key=request_key,
        recorded_by_id=_id(actor),
        created_at=at or utcnow(),
    )
    session.add(donation)
    session.flush()
    totals.add(
        session,
        village_id=village_id,
        month=totals.month_of(received_on),
        donation_count=1,
        donation_fen=amount_fen or 0,
    )
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.DONATION_RECORD,
        subject=donation,
        village_id=village_id,
        data={"donor": donor.name, "kind": kind, "amount_fen": amount_fen, "receipt_no": donation.receipt_no},
        at=at,
    )
    return donation


def _move_fund(
    session: Session, actor, fund: Fund, amount_fen: int, *, kind: str, note: str = "", at=None, **links
) -> FundMovement:
    balance = session.execute(
        update(Fund)
        .where(Fund.id == fund.id, Fund.balance_fen + amount_fen >= 0)
        .values(balance_fen=Fund.balance_fen + amount_fen)
        .returning(Fund.balance_fen)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if balance is None:
        session.refresh(fund)
        raise FundTooLow(fund=fund.name, needed=yuan(-amount_fen), available=yuan(fund.balance_fen))
    fund.balance_fen = balance
    movement = FundMovement(
        village_id=fund.village_id,
        fund_id=fund.id,
        kind=kind,
        amount_fen=amount_fen,
        balance_after_fen=balance,
        note=note.strip(),
        recorded_by_id=_id(actor),
        created_at=at or utcnow(),
        **links,
    )
    session.add(movement)
    session.flush()
    return movement


def _replayed(session: Session, request_key: str | None, village_id: int, donor_id: int) -> Donation | None:
    done = idempotency.replayed(session, Donation, request_key, village_id=village_id)
    if done is not None and done.donor_id != donor_id:
        raise IdempotencyConflict()
    return done


def yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def _id(user) -> int | None:
    return user.id if user is not None else None
