"""Card (积分卡): a printed number and a secret QR token that point at a household's points account."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped


class CardStatus(StrEnum):
    ACTIVE = "active"
    LOST = "lost"  # reported lost and replaced: its token is dead
    RECOVERED = "recovered"  # taken back (回收) when the household left: the account is frozen

    @property
    def label(self):
        return {
            CardStatus.ACTIVE: _l("正常"),
            CardStatus.LOST: _l("已挂失"),
            CardStatus.RECOVERED: _l("已回收"),
        }[self]


class Card(VillageScoped, Base):
    """The token is kept (not only a digest) so that a card sheet can be printed again; it is the secret
    in the villager's URL and never appears in a list or the audit log."""

    __tablename__ = "cards"
    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "village_id"], ["points_accounts.id", "points_accounts.village_id"]
        ),
        ForeignKeyConstraint(["household_id", "village_id"], ["households.id", "households.village_id"]),
        UniqueConstraint("village_id", "number"),
        CheckConstraint("status IN ('active', 'lost', 'recovered')", name="status_known"),
        CheckConstraint("(status = 'active') = (ended_at IS NULL)", name="ended_unless_active"),
        Index(
            "uq_cards_one_active_per_household",
            "household_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(index=True)
    account_id: Mapped[int] = mapped_column(index=True)
    number: Mapped[str] = mapped_column(String(32))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=CardStatus.ACTIVE.value)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    ended_at = mapped_column(UTCDateTime, nullable=True)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))

    @property
    def status_label(self):
        return CardStatus(self.status).label
