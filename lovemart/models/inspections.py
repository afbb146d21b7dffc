"""Inspection (五净一规范检查): the six hygiene checks of one household on one day."""

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lovemart.db import Base, UTCDateTime, utcnow
from lovemart.models.scoped import VillageScoped

#: (column, label) of the six checks, in the order the report lists them.
CHECKS = (
    ("yard_clean", _l("院内净")),
    ("bedroom_clean", _l("卧室净")),
    ("kitchen_clean", _l("厨房净")),
    ("toilet_clean", _l("厕所净")),
    ("personal_clean", _l("个人卫生净")),
    ("belongings_tidy", _l("物品摆放规范")),
)


class Inspection(VillageScoped, Base):
    __tablename__ = "inspections"
    __table_args__ = (
        ForeignKeyConstraint(["household_id", "village_id"], ["households.id", "households.village_id"]),
        CheckConstraint(
            "passed = (yard_clean AND bedroom_clean AND kitchen_clean AND toilet_clean"
            " AND personal_clean AND belongings_tidy)",
            name="passed_means_all_six",
        ),
        Index("ix_inspections_household_latest", "household_id", "inspected_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int]
    inspected_on: Mapped[date] = mapped_column(Date)
    inspector: Mapped[str] = mapped_column(String(64))
    yard_clean: Mapped[bool]
    bedroom_clean: Mapped[bool]
    kitchen_clean: Mapped[bool]
    toilet_clean: Mapped[bool]
    personal_clean: Mapped[bool]
    belongings_tidy: Mapped[bool]
    passed: Mapped[bool]
    note: Mapped[str] = mapped_column(String(500), default="")
    photo: Mapped[str | None] = mapped_column(String(80))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    @property
    def failed_checks(self) -> list:
        return [label for column, label in CHECKS if not getattr(self, column)]
