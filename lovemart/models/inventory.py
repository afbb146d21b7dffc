"""Zones (商品分区), products with their stored stock level, append-only stock movements, and stocktakes."""

from datetime import date
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped

#: The six zones of the Adao shop, created for every new village (editable afterwards).
DEFAULT_ZONES = ("粮油区", "日用品区", "洗化区", "服装区", "农资区", "家用电器区")


class Zone(VillageScoped, Base):
    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("village_id", "name"), UniqueConstraint("id", "village_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Product(VillageScoped, Base):
    """`stock` is the stored level: it always equals the sum of the product's movements and never goes
    below zero (CHECK), so a sale that would overdraw it is refused by the database as well."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("village_id", "name"),
        UniqueConstraint("village_id", "barcode"),
        UniqueConstraint("id", "village_id"),
        ForeignKeyConstraint(["zone_id", "village_id"], ["zones.id", "zones.village_id"]),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("points_price > 0", name="price_positive"),
        CheckConstraint("low_stock >= 0", name="low_stock_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(16))
    points_price: Mapped[int]
    barcode: Mapped[str | None] = mapped_column(String(32))
    photo: Mapped[str | None] = mapped_column(String(80))
    low_stock: Mapped[int] = mapped_column(default=5)
    active: Mapped[bool] = mapped_column(default=True)
    stock: Mapped[int] = mapped_column(default=0)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class MovementKind(StrEnum):
    STOCK_IN = "stock_in"  # 进货: purchase or donation
    REDEMPTION = "redemption"  # 兑换
    RETURN = "return"  # 退货: a cancelled redemption
    ADJUSTMENT = "adjustment"  # 盘点
    WRITE_OFF = "write_off"  # 报损
    HANDOVER = "handover"  # 心愿: goods handed to the household whose wish they fulfil, for no points
    CORRECTION = "correction"  # 更正入库: a mistyped stock-in put right on its day, naming it (either sign)

    @property
    def label(self):
        return {
            MovementKind.STOCK_IN: _l("进货"),
            MovementKind.REDEMPTION: _l("兑换"),
            MovementKind.RETURN: _l("退货"),
            MovementKind.ADJUSTMENT: _l("盘点调整"),
            MovementKind.WRITE_OFF: _l("报损"),
            MovementKind.HANDOVER: _l("心愿交付"),
            MovementKind.CORRECTION: _l("更正入库"),
        }[self]


class StockMovement(VillageScoped, Base):
    """Never updated or deleted; each names where it came from (donation, purchase, redemption, stocktake)."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        ForeignKeyConstraint(["product_id", "village_id"], ["products.id", "products.village_id"]),
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        CheckConstraint("stock_after >= 0", name="stock_after_not_negative"),
        CheckConstraint(
            "kind IN ('stock_in', 'redemption', 'return', 'adjustment', 'write_off', 'handover',"
            " 'correction')",
            name="kind_known",
        ),
        CheckConstraint(
            "(kind IN ('stock_in', 'return') AND quantity > 0)"
            " OR (kind IN ('redemption', 'write_off', 'handover') AND quantity < 0)"
            " OR kind IN ('adjustment', 'correction')",
            name="sign_matches_kind",
        ),
        CheckConstraint("(kind = 'handover') = (wish_id IS NOT NULL)", name="handover_names_wish"),
        CheckConstraint(
            "(kind = 'correction') = (corrects_id IS NOT NULL)", name="correction_names_stock_in"
        ),
        CheckConstraint("cost_fen IS NULL OR cost_fen >= 0", name="cost_not_negative"),
        Index("ix_stock_movements_product_id_id", "product_id", "id"),
        Index("ix_stock_movements_village_created", "village_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int]
    stock_after: Mapped[int]
    use_by: Mapped[date | None] = mapped_column(Date)
    cost_fen: Mapped[int | None]
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemptions.id"), index=True)
    stocktake_id: Mapped[int | None] = mapped_column(ForeignKey("stocktakes.id"), index=True)
    wish_id: Mapped[int | None] = mapped_column(ForeignKey("wishes.id"), index=True)
    #: The stock-in a correction (更正入库) puts right; the stock-in itself is never changed.
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("stock_movements.id"), index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    @property
    def kind_label(self):
        return MovementKind(self.kind).label


class Stocktake(VillageScoped, Base):
    """A count of one zone or the whole shop: lines hold the counted quantities until it is confirmed."""

    __tablename__ = "stocktakes"
    __table_args__ = (CheckConstraint("status IN ('open', 'confirmed')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    confirmed_at = mapped_column(UTCDateTime, nullable=True)


class StocktakeLine(Base):
    __tablename__ = "stocktake_lines"
    __table_args__ = (
        UniqueConstraint("stocktake_id", "product_id"),
        CheckConstraint("counted IS NULL OR counted >= 0", name="counted_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(ForeignKey("stocktakes.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    expected: Mapped[int]
    counted: Mapped[int | None]
