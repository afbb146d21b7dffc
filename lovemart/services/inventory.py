"""Goods and stock: zones, products, and the only writer of stock movements (stock-in, redemption, return,
stocktake adjustment, write-off). A product's stored stock always equals the sum of its movements.

Stock moves with one conditional UPDATE per product (`… WHERE stock + :q >= 0 RETURNING stock`), so two
counters selling the last bag of rice cannot both succeed, and the CHECK on the table backs it up.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from lovemart.db import utcnow
from lovemart.models import (
    Donation,
    Donor,
    Fund,
    Product,
    Purchase,
    Redemption,
    StockMovement,
    Stocktake,
    StocktakeLine,
    Zone,
)
from lovemart.models.inventory import DEFAULT_ZONES, MovementKind
from lovemart.services import audit
from lovemart.services.audit import AuditTag
from lovemart.services.errors import InvalidInput, NotFound, OutOfStock
from lovemart.services.paging import Page, paginate
from lovemart.services.points import VILLAGE_TIMEZONE

#: Goods whose use-by date is this close are flagged on the dashboard and at the counter.
USE_BY_WARNING_DAYS = 60
#: A stock-in line of more units than this is asked again on the form ("我确认数量 … 无误"). A village shop
#: takes deliveries of tens, rarely hundreds, of one product (a donated lorry of rice is some 400 bags);
#: above a thousand an extra 0 or a scanner's code in the quantity box is likelier than the goods.
LARGE_STOCK_IN = 1000


@dataclass(frozen=True)
class ProductInput:
    name: str
    zone_id: int
    unit: str
    points_price: int
    barcode: str | None = None
    low_stock: int = 5
    photo: str | None = None
    active: bool = True


@dataclass(frozen=True)
class StockInLine:
    product_id: int
    quantity: int
    use_by: date | None = None
    cost_fen: int | None = None


def today() -> date:
    """Today where the shop is (Asia/Shanghai): the reference for use-by warnings."""
    return datetime.now(VILLAGE_TIMEZONE).date()


def create_default_zones(session: Session, *, village_id: int) -> list[Zone]:
    zones = [Zone(village_id=village_id, name=name, position=i) for i, name in enumerate(DEFAULT_ZONES)]
    session.add_all(zones)
    session.flush()
    return zones


def zones(session: Session, *, village_id: int, include_inactive: bool = False) -> list[Zone]:
    stmt = select(Zone).where(Zone.village_id == village_id).order_by(Zone.position, Zone.id)
    if not include_inactive:
        stmt = stmt.where(Zone.active.is_(True))
    return list(session.scalars(stmt))


def get_zone(session: Session, *, village_id: int, zone_id: int) -> Zone:
    """:raise NotFound: for an unknown zone or another village's."""
    return _zone(session, village_id, zone_id)


def save_zone(
    session: Session, *, actor, village_id: int, name: str, zone_id: int | None = None, active=True
) -> Zone:
    """Create a zone, or rename / (de)activate one."""
    name = name.strip()
    if not name:
        raise InvalidInput(_l("分区名称不能为空。"), field="name")
    clash = session.scalar(select(Zone.id).where(Zone.village_id == village_id, Zone.name == name))
    if clash is not None and clash != zone_id:
        raise InvalidInput(_l("已有同名分区。"), field="name")
    if zone_id is None:
        position = session.scalar(select(func.count()).where(Zone.village_id == village_id))
        zone = Zone(village_id=village_id, name=name, position=position, active=active)
        session.add(zone)
    else:
        zone = _zone(session, village_id, zone_id)
        zone.name, zone.active = name, active
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.ZONE_SAVE,
        subject=zone,
        village_id=village_id,
        data={"name": name, "active": active},
    )
    return zone


def create_product(
    session: Session, *, actor, village_id: int, data: ProductInput, at: datetime | None = None
) -> Product:
    data = _checked_product(session, village_id, data)
    product = Product(village_id=village_id, stock=0, created_at=at or utcnow(), **data.__dict__)
    session.add(product)
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.PRODUCT_CREATE,
        subject=product,
        village_id=village_id,
        data={"after": _product_dict(product)},
        at=at,
    )
    return product


def update_product(
    session: Session, *, actor, village_id: int, product_id: int, data: ProductInput
) -> Product:
    """Edit a product's details; its stock only ever moves through movements."""
    product = get_product(session, village_id=village_id, product_id=product_id)
    data = _checked_product(session, village_id, data, product_id=product_id)
    before = _product_dict(product)
    for field, value in data.__dict__.items():
        setattr(product, field, value)
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.PRODUCT_UPDATE,
        subject=product,
        village_id=village_id,
        data=audit.changes(before, _product_dict(product)),
    )
    return product


def get_product(session: Session, *, village_id: int, product_id: int) -> Product:
    product = session.scalar(
        select(Product).where(Product.id == product_id, Product.village_id == village_id)
    )
    if product is None:
        raise NotFound()
    return product


def catalogue(
    session: Session,
    *,
    village_id: int,
    zone_id: int | None = None,
    search: str = "",
    active_only: bool = True,
) -> list[Product]:
    return list(session.scalars(_catalogue_stmt(village_id, zone_id, search, active_only)))


def catalogue_page(
    session: Session,
    *,
    village_id: int,
    zone_id: int | None = None,
    search: str = "",
    active_only: bool = True,
    page: int = 1,
    per_page: int = 30,
) -> Page:
    """One page of the catalogue, in zone and name order (the API's listProducts)."""
    stmt = _catalogue_stmt(village_id, zone_id, search, active_only)
    return paginate(session, stmt, page=page, per_page=per_page)


def _catalogue_stmt(village_id: int, zone_id: int | None, search: str, active_only: bool):
    stmt = (
        select(Product)
        .join(Zone, Zone.id == Product.zone_id)
        .where(Product.village_id == village_id)
        .order_by(Zone.position, Product.name)
    )
    if active_only:
        stmt = stmt.where(Product.active.is_(True))
    if zone_id is not None:
        stmt = stmt.where(Product.zone_id == zone_id)
    if term := search.strip():
        stmt = stmt.where((Product.name.contains(term, autoescape=True)) | (Product.barcode == term))
    return stmt


def stock_in(
    session: Session,
    *,
    actor,
    village_id: int,
    lines: list[StockInLine],
    donation_id: int | None = None,
    purchase_id: int | None = None,
    note: str = "",
    at: datetime | None = None,
) -> list[StockMovement]:
    """进货: goods received, each line naming the donation or purchase it came from (`at`: when, if not
    now)."""
    if not lines:
        raise InvalidInput(_l("请至少填写一种商品。"), field="lines")
    movements = []
    for line in sorted(lines, key=lambda line: line.product_id):  # fixed lock order
        if line.quantity <= 0:
            raise InvalidInput(_l("进货数量必须大于零。"), field="quantity")
        movements.append(
            move(
                session,
                actor=actor,
                village_id=village_id,
                product_id=line.product_id,
                quantity=line.quantity,
                kind=MovementKind.STOCK_IN,
                use_by=line.use_by,
                cost_fen=line.cost_fen,
                donation_id=donation_id,
                purchase_id=purchase_id,
                note=note,
                **moment(at),
            )
        )
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.STOCK_IN,
        subject=movements[0],
        village_id=village_id,
        data={
            "lines": [[m.product_id, m.quantity] for m in movements],
            "donation_id": donation_id,
            "purchase_id": purchase_id,
        },
        at=at,
    )
    return movements


def correct_stock_in(
    session: Session,
    *,
    actor,
    village_id: int,
    movement_id: int,
    quantity: int,
    reason: str,
    at: datetime | None = None,
) -> StockMovement:
    """更正入库: what a stock-in really brought (`quantity`, 0 if nothing came), on the day it was recorded
    (village time). A correction movement of the difference, naming the stock-in (and its donation or
    purchase), is booked; the stock-in itself is never changed, so the books stay append-only and the stock
    still equals the sum of the movements. Sent again, the same correction books nothing more and returns
    the correction already booked.

    :raise NotFound: for an unknown movement or another village's.
    :raise InvalidInput: not a stock-in, another day, a negative quantity, no reason, the stock-in's own
        quantity, or more goods gone already than the correction would leave.
    """
    reason = (reason or "").strip()
    original = get_movement(session, village_id=village_id, movement_id=movement_id)
    if original.kind != MovementKind.STOCK_IN.value:
        raise InvalidInput(_l("只能更正入库记录。"), field="quantity")
    if _local_day(original.created_at) != _local_day(at or utcnow()):
        raise InvalidInput(_l("只能在入库当天更正。之后发现的差错，请通过盘点调整库存。"), field="quantity")
    if quantity < 0:
        raise InvalidInput(_l("实收数量不能为负数。"), field="quantity")
    if not reason:
        raise InvalidInput(_l("请填写更正原因。"), field="reason")
    # The product's row first (a fixed order with every stock writer): two clicks of one correction
    # cannot both see the old count.
    product = session.scalar(
        select(Product)
        .where(Product.id == original.product_id, Product.village_id == village_id)
        .with_for_update()
    )
    earlier = list(
        session.scalars(
            select(StockMovement)
            .where(StockMovement.village_id == village_id, StockMovement.corrects_id == original.id)
            .order_by(StockMovement.id)
        )
    )
    counted = original.quantity + sum(m.quantity for m in earlier)
    if quantity == counted:
        if earlier:
            return earlier[-1]  # the same correction sent again
        raise InvalidInput(_l("与原入库数量相同，无需更正。"), field="quantity")
    difference = quantity - counted
    if product.stock + difference < 0:
        message = _l("库存只剩 %(left)d%(unit)s（已有兑换或报损），不能把这次入库更正为 %(n)d。")
        raise InvalidInput(
            message % {"left": product.stock, "unit": product.unit, "n": quantity}, field="quantity"
        )
    correction = move(
        session,
        actor=actor,
        village_id=village_id,
        product_id=product.id,
        quantity=difference,
        kind=MovementKind.CORRECTION,
        corrects_id=original.id,
        donation_id=original.donation_id,
        purchase_id=original.purchase_id,
        note=reason,
        **moment(at),
    )
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.STOCK_CORRECT,
        subject=correction,
        village_id=village_id,
        data={
            "stock_in_id": original.id,
            "product_id": product.id,
            "recorded": counted,
            "quantity": quantity,
            "reason": reason,
        },
        at=at,
    )
    return correction


def correctable(session: Session, *, village_id: int, product_id: int, at: datetime | None = None) -> dict:
    """{stock-in id: the quantity it counts now (with its corrections)} for a product's stock-ins of today
    (village time): those a correction may still put right."""
    start = datetime.combine(_local_day(at or utcnow()), datetime.min.time(), VILLAGE_TIMEZONE)
    rows = session.execute(
        select(StockMovement.id, StockMovement.kind, StockMovement.quantity, StockMovement.corrects_id).where(
            StockMovement.village_id == village_id,
            StockMovement.product_id == product_id,
            StockMovement.kind.in_([MovementKind.STOCK_IN.value, MovementKind.CORRECTION.value]),
            StockMovement.created_at >= start,
            StockMovement.created_at < start + timedelta(days=1),
        )
    ).all()
    counts = {row.id: row.quantity for row in rows if row.kind == MovementKind.STOCK_IN.value}
    for row in rows:
        if row.corrects_id in counts:
            counts[row.corrects_id] += row.quantity
    return counts


def _local_day(moment: datetime) -> date:
    return moment.astimezone(VILLAGE_TIMEZONE).date()


def write_off(
    session: Session,
    *,
    actor,
    village_id: int,
    product_id: int,
    quantity: int,
    reason: str,
    at: datetime | None = None,
) -> StockMovement:
    """报损: damaged or expired goods leave the stock, with a reason."""
    if quantity <= 0:
        raise InvalidInput(_l("报损数量必须大于零。"), field="quantity")
    if not reason.strip():
        raise InvalidInput(_l("请填写报损原因。"), field="reason")
    movement = move(
        session,
        actor=actor,
        village_id=village_id,
        product_id=product_id,
        quantity=-quantity,
        kind=MovementKind.WRITE_OFF,
        note=reason.strip(),
        **moment(at),
    )
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.STOCK_WRITE_OFF,
        subject=movement,
        village_id=village_id,
        data={"product_id": product_id, "quantity": quantity, "reason": reason.strip()},
        at=at,
    )
    return movement


def move(
    session: Session,
    *,
    actor,
    village_id: int,
    product_id: int,
    quantity: int,
    kind: MovementKind,
    **links,
) -> StockMovement:
    """`move_stock` for a model-level caller: the product object kept in step, the movement returned.

    :raise NotFound, OutOfStock:
    """
    product = get_product(session, village_id=village_id, product_id=product_id)
    session.flush()  # the rows the movement points at (a new donation, purchase or wish) exist first
    movement_id, stock_after = move_stock(
        session,
        actor_id=actor.id if actor is not None else None,
        village_id=village_id,
        product_id=product.id,
        quantity=quantity,
        kind=kind,
        **links,
    )
    set_committed_value(product, "stock", stock_after)
    return session.get(StockMovement, movement_id)


_products, _movements = Product.__table__, StockMovement.__table__
_THIS_PRODUCT = (_products.c.id == bindparam("product")) & (_products.c.village_id == bindparam("village"))
_MOVE_STOCK = (
    update(_products)
    .where(_THIS_PRODUCT, _products.c.stock + bindparam("quantity") >= 0)
    .values(stock=_products.c.stock + bindparam("quantity"))
    .returning(_products.c.stock)
)
_STOCK_LEFT = select(_products.c.name, _products.c.stock).where(_THIS_PRODUCT)
_INSERT_MOVEMENT = insert(_movements).returning(_movements.c.id)


def move_stock(
    session: Session,
    *,
    actor_id: int | None,
    village_id: int,
    product_id: int,
    quantity: int,
    kind: MovementKind,
    **links,
) -> tuple[int, int]:
    """The one place stock changes: a conditional UPDATE of the stored level and its movement row, in Core
    on the session's connection (no ORM flush: the counter's redemption runs this). Returns the movement's
    id and the level after it.

    :raise OutOfStock: when the movement would take the level below zero.
    """
    connection = session.connection()
    ids = {"product": product_id, "village": village_id}
    stock_after = connection.execute(_MOVE_STOCK, ids | {"quantity": quantity}).scalar_one_or_none()
    if stock_after is None:
        name, left = connection.execute(_STOCK_LEFT, ids).one()
        raise OutOfStock(product_id=product_id, product=name, wanted=-quantity, left=left)
    movement_id = connection.execute(
        _INSERT_MOVEMENT,
        {
            "village_id": village_id,
            "product_id": product_id,
            "kind": kind.value,
            "quantity": quantity,
            "stock_after": stock_after,
            "recorded_by_id": actor_id,
            "created_at": utcnow(),
        }
        | links,
    ).scalar_one()
    return movement_id, stock_after


def movements(session: Session, *, village_id: int, product_id: int, limit: int = 100) -> list[StockMovement]:
    """A product's latest movements, newest first: where its stock came from and went."""
    return list(
        session.scalars(
            select(StockMovement)
            .where(StockMovement.village_id == village_id, StockMovement.product_id == product_id)
            .order_by(StockMovement.id.desc())
            .limit(limit)
        )
    )


def get_movement(session: Session, *, village_id: int, movement_id: int) -> StockMovement:
    """:raise NotFound: for an unknown movement or another village's."""
    movement = session.scalar(
        select(StockMovement).where(StockMovement.id == movement_id, StockMovement.village_id == village_id)
    )
    if movement is None:
        raise NotFound()
    return movement


def products_by_id(session: Session, *, village_id: int, ids) -> dict[int, Product]:
    """The village's products with these ids, by id (for lists of movements or lines)."""
    ids = set(ids)
    if not ids:
        return {}
    rows = session.scalars(select(Product).where(Product.village_id == village_id, Product.id.in_(ids)))
    return {product.id: product for product in rows}


@dataclass(frozen=True)
class Provenance:
    """One movement with what it names: the donation and its donor, the purchase and its fund, the
    redemption's receipt number or the stocktake."""

    movement: StockMovement
    donation: Donation | None
    donor: Donor | None
    purchase: Purchase | None
    fund: Fund | None
    receipt_no: str | None


def provenance(session: Session, *, village_id: int, product_id: int, limit: int = 100) -> list[Provenance]:
    """A product's latest movements, newest first, each with the record it came from or went to: where its
    stock came from (donations, purchases, other stock-ins) and where it went (redemptions, write-offs)."""
    get_product(session, village_id=village_id, product_id=product_id)
    rows = session.execute(
        select(StockMovement, Donation, Donor, Purchase, Fund, Redemption.receipt_no)
        .outerjoin(Donation, Donation.id == StockMovement.donation_id)
        .outerjoin(Donor, Donor.id == Donation.donor_id)
        .outerjoin(Purchase, Purchase.id == StockMovement.purchase_id)
        .outerjoin(Fund, Fund.id == Purchase.fund_id)
        .outerjoin(Redemption, Redemption.id == StockMovement.redemption_id)
        .where(StockMovement.village_id == village_id, StockMovement.product_id == product_id)
        .order_by(StockMovement.id.desc())
        .limit(limit)
    )
    return [Provenance(*row) for row in rows]


@dataclass(frozen=True)
class SourceTotal:
    """How much of a product came in from one source: a donor, a fund's purchases, or other stock-ins."""

    kind: str  # "donation", "purchase" or "other"
    name: str
    quantity: int
    stock_ins: int


def stock_in_sources(session: Session, *, village_id: int, product_id: int) -> list[SourceTotal]:
    """Everything that ever came into a product's stock, summed by donor, by fund and the rest (with the
    corrections of mistyped stock-ins; the count is of the stock-ins)."""
    get_product(session, village_id=village_id, product_id=product_id)
    rows = session.execute(
        select(
            Donor.name,
            Fund.name,
            func.sum(StockMovement.quantity),  # corrections included: what really came in
            func.count(case((StockMovement.kind == MovementKind.STOCK_IN.value, 1))),  # deliveries only
        )
        .select_from(StockMovement)
        .outerjoin(Donation, Donation.id == StockMovement.donation_id)
        .outerjoin(Donor, Donor.id == Donation.donor_id)
        .outerjoin(Purchase, Purchase.id == StockMovement.purchase_id)
        .outerjoin(Fund, Fund.id == Purchase.fund_id)
        .where(
            StockMovement.village_id == village_id,
            StockMovement.product_id == product_id,
            StockMovement.kind.in_([MovementKind.STOCK_IN.value, MovementKind.CORRECTION.value]),
        )
        .group_by(Donor.name, Fund.name)
    )
    totals = []
    for donor, fund, quantity, count in rows:
        kind = "donation" if donor is not None else "purchase" if fund is not None else "other"
        totals.append(SourceTotal(kind, donor or fund or "", int(quantity), int(count)))
    return sorted(totals, key=lambda t: (-t.quantity, t.kind, t.name))


def expiring(
    session: Session, *, village_id: int, today: date, days: int = USE_BY_WARNING_DAYS
) -> list[tuple]:
    """(product, earliest use-by) for products in stock whose latest stock-ins carry a use-by date within
    `days` (or already past). The newest stock-ins are sold last, so the earliest date is the one to watch."""
    horizon = today + timedelta(days=days)
    rows = session.execute(
        select(Product, func.min(StockMovement.use_by))
        .join(StockMovement, StockMovement.product_id == Product.id)
        .where(
            Product.village_id == village_id,
            Product.stock > 0,
            StockMovement.kind == MovementKind.STOCK_IN.value,
            StockMovement.use_by.is_not(None),
            StockMovement.use_by <= horizon,
        )
        .group_by(Product.id)
        .order_by(func.min(StockMovement.use_by))
    )
    return list(rows)


def low_stock(session: Session, *, village_id: int) -> list[Product]:
    return list(
        session.scalars(
            select(Product)
            .where(
                Product.village_id == village_id, Product.active.is_(True), Product.stock <= Product.low_stock
            )
            .order_by(Product.stock, Product.name)
        )
    )


# ---- stocktake ----------------------------------------------------------------------------------------


def start_stocktake(
    session: Session, *, actor, village_id: int, zone_id: int | None, at: datetime | None = None
) -> Stocktake:
    """A count sheet of the zone's (or the shop's) active products with the stock expected now."""
    if zone_id is not None:
        _zone(session, village_id, zone_id)
    stocktake = Stocktake(
        village_id=village_id,
        zone_id=zone_id,
        status="open",
        started_by_id=_id(actor),
        created_at=at or utcnow(),
    )
    session.add(stocktake)
    session.flush()
    for product in catalogue(session, village_id=village_id, zone_id=zone_id):
        session.add(StocktakeLine(stocktake_id=stocktake.id, product_id=product.id, expected=product.stock))
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.STOCKTAKE_START,
        subject=stocktake,
        village_id=village_id,
        data={"zone_id": zone_id},
        at=at,
    )
    return stocktake


def record_counts(
    session: Session, *, village_id: int, stocktake_id: int, counts: dict[int, int | None]
) -> Stocktake:
    stocktake = _open_stocktake(session, village_id, stocktake_id)
    lines = {line.product_id: line for line in stocktake_lines(session, stocktake.id)}
    for product_id, counted in counts.items():
        if product_id not in lines:
            raise NotFound()
        if counted is not None and counted < 0:
            raise InvalidInput(_l("盘点数量不能为负数。"), field="counts")
        lines[product_id].counted = counted
    session.flush()
    return stocktake


def confirm_stocktake(
    session: Session, *, actor, village_id: int, stocktake_id: int, at: datetime | None = None
) -> list[StockMovement]:
    """Every difference between counted and current stock becomes an adjustment naming the stocktake.

    The difference is taken against the stock at confirmation, so sales during the count are not
    mistaken for losses only if the count reflects them; uncounted lines are left alone.
    """
    stocktake = _open_stocktake(session, village_id, stocktake_id)
    lines = stocktake_lines(session, stocktake.id)
    if all(line.counted is None for line in lines):
        raise InvalidInput(_l("还没有填写任何盘点数量。"), field="counts")
    adjustments = []
    for line in sorted(lines, key=lambda line: line.product_id):
        if line.counted is None:
            continue
        product = get_product(session, village_id=village_id, product_id=line.product_id)
        difference = line.counted - product.stock
        if difference:
            adjustments.append(
                move(
                    session,
                    actor=actor,
                    village_id=village_id,
                    product_id=product.id,
                    quantity=difference,
                    kind=MovementKind.ADJUSTMENT,
                    stocktake_id=stocktake.id,
                    note=str(_l("盘点调整")),
                    **moment(at),
                )
            )
    stocktake.status = "confirmed"
    stocktake.confirmed_by_id = _id(actor)
    stocktake.confirmed_at = at or utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.STOCKTAKE_CONFIRM,
        subject=stocktake,
        village_id=village_id,
        data={"adjustments": [[m.product_id, m.quantity] for m in adjustments]},
        at=at,
    )
    return adjustments


def stocktakes(session: Session, *, village_id: int, limit: int = 100) -> list[Stocktake]:
    """The village's stocktakes, newest first."""
    return list(
        session.scalars(
            select(Stocktake)
            .where(Stocktake.village_id == village_id)
            .order_by(Stocktake.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class CountRow:
    """One product of a stocktake: the stock when the count started (`expected`), the count, the stock now
    and, once confirmed, the adjustment booked (0 for a counted line that matched, None if not counted)."""

    product: Product
    expected: int
    counted: int | None
    current: int
    confirmed: bool
    adjusted: int | None

    @property
    def difference(self) -> int | None:
        """Open: what confirming would book now (counted − current stock). Confirmed: what was booked."""
        if self.confirmed:
            return self.adjusted
        return None if self.counted is None else self.counted - self.current

    @property
    def book(self) -> int:
        """The book stock the count is compared with: now while open, at confirmation once confirmed."""
        if not self.confirmed:
            return self.current
        if self.counted is None or self.adjusted is None:
            return self.expected
        return self.counted - self.adjusted


def stocktake_rows(session: Session, *, village_id: int, stocktake_id: int) -> list[CountRow]:
    """The count sheet of a stocktake in zone and name order, for counting, review and the report."""
    stocktake = get_stocktake(session, village_id=village_id, stocktake_id=stocktake_id)
    lines = stocktake_lines(session, stocktake.id)
    products = products_by_id(session, village_id=village_id, ids=[line.product_id for line in lines])
    booked = dict(
        session.execute(
            select(StockMovement.product_id, StockMovement.quantity).where(
                StockMovement.stocktake_id == stocktake.id
            )
        ).all()
    )
    all_zones = zones(session, village_id=village_id, include_inactive=True)
    zones_order = {zone.id: zone.position for zone in all_zones}
    confirmed = stocktake.status == "confirmed"
    rows = [
        CountRow(
            product=products[line.product_id],
            expected=line.expected,
            counted=line.counted,
            current=products[line.product_id].stock,
            confirmed=confirmed,
            adjusted=booked.get(line.product_id, 0) if confirmed and line.counted is not None else None,
        )
        for line in lines
    ]
    return sorted(rows, key=lambda r: (zones_order.get(r.product.zone_id, 0), r.product.name))


def get_stocktake(session: Session, *, village_id: int, stocktake_id: int) -> Stocktake:
    stocktake = session.scalar(
        select(Stocktake).where(Stocktake.id == stocktake_id, Stocktake.village_id == village_id)
    )
    if stocktake is None:
        raise NotFound()
    return stocktake


def stocktake_lines(session: Session, stocktake_id: int) -> list[StocktakeLine]:
    return list(
        session.scalars(
            select(StocktakeLine).where(StocktakeLine.stocktake_id == stocktake_id).order_by(StocktakeLine.id)
        )
    )


# ---- verification -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockDiscrepancy:
    village_id: int
    product_id: int
    what: str


def verify(session: Session, *, village_ids: list[int] | None = None) -> list[StockDiscrepancy]:
    """Every product's stored stock against the sum of its movements."""
    sums = dict(
        session.execute(
            select(StockMovement.product_id, func.sum(StockMovement.quantity)).group_by(
                StockMovement.product_id
            )
        ).all()
    )
    stmt = select(Product).order_by(Product.id)
    if village_ids is not None:
        stmt = stmt.where(Product.village_id.in_(village_ids))
    problems = []
    for product in session.scalars(stmt):
        total = sums.get(product.id, 0) or 0
        if total != product.stock:
            problems.append(
                StockDiscrepancy(
                    product.village_id, product.id, f"stock {product.stock} ≠ sum of movements {total}"
                )
            )
    return problems


def recompute_level(session: Session, product_id: int) -> int:
    return session.scalar(
        select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
            StockMovement.product_id == product_id
        )
    )


def _checked_product(session: Session, village_id: int, data: ProductInput, product_id: int | None = None):
    name, unit, barcode = data.name.strip(), data.unit.strip(), (data.barcode or "").strip() or None
    if not name:
        raise InvalidInput(_l("商品名称不能为空。"), field="name")
    if not unit:
        raise InvalidInput(_l("请填写单位，如袋、瓶、件。"), field="unit")
    if data.points_price <= 0:
        raise InvalidInput(_l("兑换积分必须大于零。"), field="points_price")
    if data.low_stock < 0:
        raise InvalidInput(_l("库存预警数量不能为负数。"), field="low_stock")
    _zone(session, village_id, data.zone_id)
    for column, value, message in (
        (Product.name, name, _l("已有同名商品。")),
        (Product.barcode, barcode, _l("该条码已被其他商品使用。")),
    ):
        if value is None:
            continue
        clash = session.scalar(select(Product.id).where(Product.village_id == village_id, column == value))
        if clash is not None and clash != product_id:
            raise InvalidInput(message, field=column.key)
    return ProductInput(**{**data.__dict__, "name": name, "unit": unit, "barcode": barcode})


def _zone(session: Session, village_id: int, zone_id: int) -> Zone:
    zone = session.scalar(select(Zone).where(Zone.id == zone_id, Zone.village_id == village_id))
    if zone is None:
        raise NotFound()
    return zone


def _open_stocktake(session: Session, village_id: int, stocktake_id: int) -> Stocktake:
    stocktake = get_stocktake(session, village_id=village_id, stocktake_id=stocktake_id)
    if stocktake.status != "open":
        raise InvalidInput(_l("该盘点已确认，不能再修改。"), field="stocktake")
    return stocktake


def _product_dict(product: Product) -> dict:
    return {
        "name": product.name,
        "zone_id": product.zone_id,
        "unit": product.unit,
        "points_price": product.points_price,
        "barcode": product.barcode,
        "low_stock": product.low_stock,
        "active": product.active,
    }


def moment(at: datetime | None) -> dict:
    """The `created_at` link of a movement made at `at` (none when it is now: the row's default)."""
    return {"created_at": at} if at is not None else {}


def _id(user) -> int | None:
    return user.id if user is not None else None
