"""Rule (积分细则): an earning or deduction rule of one village, in a category, with optional caps."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped


class RuleCategory(StrEnum):
    ENVIRONMENT = "environment"
    FAMILY_VIRTUE = "family_virtue"
    INDUSTRY = "industry"
    COLLECTIVE = "collective"
    VOLUNTEER = "volunteer"
    HONOUR = "honour"
    DEDUCTION = "deduction"

    @property
    def label(self):
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    RuleCategory.ENVIRONMENT: _l("人居环境"),
    RuleCategory.FAMILY_VIRTUE: _l("家庭美德"),
    RuleCategory.INDUSTRY: _l("产业发展"),
    RuleCategory.COLLECTIVE: _l("集体活动"),
    RuleCategory.VOLUNTEER: _l("义务劳动"),
    RuleCategory.HONOUR: _l("荣誉表彰"),
    RuleCategory.DEDUCTION: _l("扣分项"),
}


class Rule(VillageScoped, Base):
    """Points are signed: positive earns, negative deducts; deduction rules sit in the 扣分项 category.

    `cap_per_month` limits the points one household may get from the rule in a calendar month (earning rules).
    `repeat_points` escalates a deduction: the n-th application in the same calendar month deducts the n-th
    value (the last one for any later time), e.g. [-5, -10, -20].
    """

    __tablename__ = "rules"
    __table_args__ = (
        UniqueConstraint("village_id", "name"),
        CheckConstraint("points <> 0", name="points_not_zero"),
        CheckConstraint(
            "(category = 'deduction' AND points < 0) OR (category <> 'deduction' AND points > 0)",
            name="sign_matches_category",
        ),
        CheckConstraint("cap_per_month IS NULL OR cap_per_month > 0", name="cap_positive"),
        CheckConstraint("name <> ''", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(16))
    points: Mapped[int]
    description: Mapped[str] = mapped_column(String(500), default="")
    cap_per_month: Mapped[int | None]
    repeat_points: Mapped[list | None] = mapped_column(JSON, nullable=True)
    requires_approval: Mapped[bool] = mapped_column(default=False)
    allow_negative: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    @property
    def category_label(self):
        return RuleCategory(self.category).label

    @property
    def is_deduction(self) -> bool:
        return self.points < 0
