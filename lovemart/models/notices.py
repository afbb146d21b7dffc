"""Public notices (公示) and the objections (异议) villagers raise against them.

A draft notice is compiled and may be compiled again; publishing freezes it: `content` (canonical JSON) never
changes afterwards, `digest` is its SHA-256, and `chain_seq`/`chain_head` name the village's ledger chain head
at that moment, so anyone holding a printed copy can check both.
"""

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"

    @property
    def label(self):
        return _l("草稿") if self is NoticeStatus.DRAFT else _l("已发布")


class Notice(VillageScoped, Base):
    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("village_id", "period_start", "period_end"),
        UniqueConstraint("token"),
        CheckConstraint("status IN ('draft', 'published')", name="status_known"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        CheckConstraint("days BETWEEN 1 AND 60", name="days_in_range"),
        CheckConstraint(
            "status <> 'published' OR (digest IS NOT NULL AND chain_head IS NOT NULL"
            " AND chain_seq IS NOT NULL AND published_at IS NOT NULL AND objection_deadline IS NOT NULL)",
            name="published_is_sealed",
        ),
        Index("ix_notices_village_period", "village_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What a public URL carries instead of the id.
    token: Mapped[str] = mapped_column(String(43))
    period_start = mapped_column(Date, nullable=False)
    period_end = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default=NoticeStatus.DRAFT.value)
    days: Mapped[int] = mapped_column(default=7)
    honour_roll: Mapped[bool] = mapped_column(default=True)
    content: Mapped[str] = mapped_column(Text, default="")
    compiled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    compiled_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    digest: Mapped[str | None] = mapped_column(String(64))
    chain_seq: Mapped[int | None]
    chain_head: Mapped[str | None] = mapped_column(String(64))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at = mapped_column(UTCDateTime, nullable=True)
    objection_deadline = mapped_column(UTCDateTime, nullable=True)
    #: When the points held for this notice (公示后入账) were credited or dropped.
    settled_at = mapped_column(UTCDateTime, nullable=True)

    @property
    def status_label(self):
        return NoticeStatus(self.status).label


class ObjectionStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    DISMISSED = "dismissed"

    @property
    def label(self):
        return {
            ObjectionStatus.OPEN: _l("待答复"),
            ObjectionStatus.UPHELD: _l("异议成立"),
            ObjectionStatus.DISMISSED: _l("异议不成立"),
        }[self]


class Objection(VillageScoped, Base):
    """A household's objection to one line of a published notice: a ledger entry or a held claim."""

    __tablename__ = "objections"
    __table_args__ = (
        UniqueConstraint("request_key"),
        CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status_known"),
        CheckConstraint("(entry_id IS NULL) <> (claim_id IS NULL)", name="names_one_line"),
        CheckConstraint("text <> ''", name="text_not_empty"),
        CheckConstraint("status = 'open' OR (answer <> '' AND answered_at IS NOT NULL)", name="answered"),
        Index("ix_objections_village_status", "village_id", "status"),
        Index("ix_objections_household_id", "household_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("points_claims.id"))
    text: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default=ObjectionStatus.OPEN.value)
    answer: Mapped[str] = mapped_column(String(500), default="")
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at = mapped_column(UTCDateTime, nullable=True)
    #: The reversal entry an upheld objection against a credited entry ended in.
    reversal_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    request_key: Mapped[str | None] = mapped_column(String(80))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    @property
    def status_label(self):
        return ObjectionStatus(self.status).label
