"""`Page`: one page of a SELECT with its total, for lists in the UI and the API."""

from dataclasses import dataclass
from math import ceil

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


#: Far beyond any real list; keeps OFFSET inside every database's integer range whatever page is asked for.
MAX_PAGE = 1_000_000


def paginate(session: Session, stmt: Select, *, page: int, per_page: int) -> Page:
    page = min(max(1, page), MAX_PAGE)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, total=total or 0, page=page, per_page=per_page)
