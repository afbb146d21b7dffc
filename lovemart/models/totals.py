"""Per-village, per-month totals, advanced in the same transaction as the rows they summarise, so that
reports over any period read one row per village and month instead of the whole ledger.
`lovemart verify` recomputes them from the entries, redemptions and donations and names any difference."""

from datetime import date

from sqlalchemy import Date, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from lovemart.db import Base
from lovemart.models.scoped import VillageScoped


class VillageMonth(VillageScoped, Base):
    __tablename__ = "village_months"

    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), primary_key=True)
    #: The first day of the month, in village time (Asia/Shanghai).
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    entry_count: Mapped[int] = mapped_column(default=0)
    #: Signed sums of the month's ledger entries, by kind.
    base_points: Mapped[int] = mapped_column(default=0)
    award_points: Mapped[int] = mapped_column(default=0)
    deduction_points: Mapped[int] = mapped_column(default=0)
    redemption_points: Mapped[int] = mapped_column(default=0)
    reversal_points: Mapped[int] = mapped_column(default=0)
    redemption_count: Mapped[int] = mapped_column(default=0)
    donation_count: Mapped[int] = mapped_column(default=0)
    donation_fen: Mapped[int] = mapped_column(default=0)
