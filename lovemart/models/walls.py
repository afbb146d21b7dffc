"""The wish wall (心愿墙) and, for fulfilled wishes, the response wall (回音墙).

A wish moves pending → open (approved by the supervisor) or declined; open → pledged (a donor takes it up)
→ fulfilled. Where the donor gives goods, the wish names the donation that brought them in, and the stock
movement that handed them to the household names the wish, so the whole chain can be shown.
"""

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped


class WishStatus(StrEnum):
    PENDING = "pending"  # waiting for the supervisor
    DECLINED = "declined"
    OPEN = "open"  # on the public wall, waiting for a donor
    PLEDGED = "pledged"  # a donor has taken it up
    FULFILLED = "fulfilled"  # on the response wall

    @property
    def label(self):
        return _WISH_LABELS[self]


_WISH_LABELS = {
    WishStatus.PENDING: _l("待审核"),
    WishStatus.DECLINED: _l("未通过"),
    WishStatus.OPEN: _l("待认领"),
    WishStatus.PLEDGED: _l("已认领"),
    WishStatus.FULFILLED: _l("已实现"),
}


class WishCategory(StrEnum):
    DAILY = "daily"
    STUDY = "study"
    FARMING = "farming"
    HEALTH = "health"
    ELDERLY = "elderly"
    OTHER = "other"

    @property
    def label(self):
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    WishCategory.DAILY: _l("生活用品"),
    WishCategory.STUDY: _l("学习用品"),
    WishCategory.FARMING: _l("生产发展"),
    WishCategory.HEALTH: _l("医疗健康"),
    WishCategory.ELDERLY: _l("助老助残"),
    WishCategory.OTHER: _l("其他"),
}


def _known(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Wish(VillageScoped, Base):
    __tablename__ = "wishes"
    __table_args__ = (
        ForeignKeyConstraint(["household_id", "village_id"], ["households.id", "households.village_id"]),
        UniqueConstraint("request_key"),
        CheckConstraint(_known("status", WishStatus), name="status_known"),
        CheckConstraint(_known("category", WishCategory), name="category_known"),
        CheckConstraint("text <> ''", name="text_not_empty"),
        CheckConstraint("status <> 'declined' OR decline_reason <> ''", name="declined_has_reason"),
        CheckConstraint(
            "status NOT IN ('pledged', 'fulfilled') OR donor_id IS NOT NULL", name="pledge_has_donor"
        ),
        CheckConstraint("status <> 'fulfilled' OR fulfilled_at IS NOT NULL", name="fulfilled_has_time"),
        Index("ix_wishes_village_status", "village_id", "status"),
        Index("ix_wishes_household_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int]
    text: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(16))
    photo: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default=WishStatus.PENDING.value)
    from_villager: Mapped[bool] = mapped_column(default=False)
    posted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    request_key: Mapped[str | None] = mapped_column(String(80))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    moderated_at = mapped_column(UTCDateTime, nullable=True)
    decline_reason: Mapped[str] = mapped_column(String(200), default="")
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("donors.id"), index=True)
    pledge_note: Mapped[str] = mapped_column(String(200), default="")
    pledged_at = mapped_column(UTCDateTime, nullable=True)
    #: The goods donation that brought the pledged goods in (→ its stock-in movements).
    donation_id: Mapped[int | None] = mapped_column(ForeignKey("donations.id"), index=True)
    fulfilment: Mapped[str] = mapped_column(String(500), default="")
    thanks: Mapped[str] = mapped_column(String(200), default="")
    fulfilled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    fulfilled_at = mapped_column(UTCDateTime, nullable=True)

    @property
    def status_label(self):
        return WishStatus(self.status).label

    @property
    def category_label(self):
        return WishCategory(self.category).label
