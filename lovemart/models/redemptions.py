"""Redemption (兑换) at the counter and its lines; the receipt is rendered from these rows."""

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped


class Redemption(VillageScoped, Base):
    """`idempotency_key` makes a retried confirm return the first result; `request_digest` (a hash of the
    card and the lines) tells a genuine retry from a different request reusing the key."""

    __tablename__ = "redemptions"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        UniqueConstraint("village_id", "receipt_no"),
        CheckConstraint("total_points > 0", name="total_positive"),
        CheckConstraint("status IN ('completed', 'cancelled')", name="status_known"),
        CheckConstraint("(status = 'cancelled') = (cancelled_at IS NOT NULL)", name="cancelled_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"))
    total_points: Mapped[int]
    balance_after: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="completed")
    idempotency_key: Mapped[str] = mapped_column(String(80))
    request_digest: Mapped[str] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    cancelled_at = mapped_column(UTCDateTime, nullable=True)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")


class RedemptionLine(Base):
    """Product name and unit price as they were at the counter: later price changes never alter a receipt."""

    __tablename__ = "redemption_lines"
    __table_args__ = (
        UniqueConstraint("redemption_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("points = quantity * unit_points", name="points_add_up"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemptions.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    product_name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int]
    unit_points: Mapped[int]
    points: Mapped[int]
