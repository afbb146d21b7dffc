"""Donors (爱心企业 / 爱心人士), funds with their append-only movements, donations and purchases."""

from datetime import date
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped


class DonorKind(StrEnum):
    ENTERPRISE = "enterprise"
    PERSON = "person"

    @property
    def label(self):
        return _l("爱心企业") if self is DonorKind.ENTERPRISE else _l("爱心人士")


class FundKind(StrEnum):
    POVERTY_OFFICE = "poverty_office"
    CIVIL_AFFAIRS = "civil_affairs"
    SOCIAL = "social"
    COLLECTIVE = "collective"

    @property
    def label(self):
        return {
            FundKind.POVERTY_OFFICE: _l("扶贫局资助"),
            FundKind.CIVIL_AFFAIRS: _l("民政补贴"),
            FundKind.SOCIAL: _l("社会捐赠"),
            FundKind.COLLECTIVE: _l("村集体"),
        }[self]


class Donor(VillageScoped, Base):
    __tablename__ = "donors"
    __table_args__ = (
        UniqueConstraint("village_id", "name"),
        CheckConstraint("kind IN ('enterprise', 'person')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    contact: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    @property
    def kind_label(self):
        return DonorKind(self.kind).label


class Fund(VillageScoped, Base):
    """Money in fen (分): `balance_fen` always equals the sum of the fund's movements, never negative."""

    __tablename__ = "funds"
    __table_args__ = (
        UniqueConstraint("village_id", "name"),
        CheckConstraint("balance_fen >= 0", name="balance_not_negative"),
        CheckConstraint(
            "kind IN ('poverty_office', 'civil_affairs', 'social', 'collective')", name="kind_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    balance_fen: Mapped[int] = mapped_column(default=0)

    @property
    def kind_label(self):
        return FundKind(self.kind).label


class Donation(VillageScoped, Base):
    """Goods (each line a stock-in naming this donation) or money (an income movement of a fund)."""

    __tablename__ = "donations"
    __table_args__ = (
        UniqueConstraint("village_id", "receipt_no"),
        UniqueConstraint("request_key"),
        CheckConstraint("kind IN ('goods', 'money')", name="kind_known"),
        CheckConstraint("(kind = 'money') = (amount_fen IS NOT NULL)", name="money_has_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    receipt_no: Mapped[str] = mapped_column(String(32))
    received_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int | None]
    note: Mapped[str] = mapped_column(String(500), default="")
    request_key: Mapped[str | None] = mapped_column(String(80))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Purchase(VillageScoped, Base):
    """Goods bought with a fund's money: a fund debit and one stock-in per line, all naming this purchase."""

    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("request_key"),
        CheckConstraint("total_fen > 0", name="total_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    supplier: Mapped[str] = mapped_column(String(100), default="")
    total_fen: Mapped[int]
    bought_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(500), default="")
    request_key: Mapped[str | None] = mapped_column(String(80))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class FundMovement(VillageScoped, Base):
    """Append-only: money received into a fund (income) or spent from it (purchase)."""

    __tablename__ = "fund_movements"
    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
        CheckConstraint("balance_after_fen >= 0", name="balance_after_not_negative"),
        CheckConstraint(
            "(kind = 'income' AND amount_fen > 0) OR (kind = 'purchase' AND amount_fen < 0)",
            name="sign_matches_kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("funds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int]
    balance_after_fen: Mapped[int]
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"))
    note: Mapped[str] = mapped_column(String(200), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
