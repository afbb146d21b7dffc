"""`VillageScoped`: the mixin carried by every row that belongs to one village."""

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


class VillageScoped:
    """Rows of one village. `lovemart.scope` filters every ORM query of these to the villages in scope."""

    @declared_attr
    def village_id(cls) -> Mapped[int]:  # noqa: N805 - declared_attr receives the class
        return mapped_column(ForeignKey("villages.id"), index=True, nullable=False)
