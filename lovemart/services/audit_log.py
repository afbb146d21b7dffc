"""Reading the audit log of one village (审计日志): who did what, when, with the values before and after.

Filtered by person, by kind (the area of the tag: points, shop, walls, …) and by a period in village time;
newest first, paged, on the (village, created_at) index, so a long history costs one page.
"""

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from lovemart.models import AuditEvent, User
from lovemart.services.errors import NotFound
from lovemart.services.paging import Page, paginate
from lovemart.services.points import local_day_bounds

#: The first part of a tag (`points:entry:create` → points) and what the log calls it.
KINDS = {
    "household": _l("农户"),
    "inspection": _l("检查"),
    "card": _l("积分卡"),
    "points": _l("积分"),
    "shop": _l("超市"),
    "stock": _l("库存"),
    "wall": _l("心愿墙"),
    "notice": _l("公示"),
    "user": _l("用户"),
    "village": _l("村设置"),
}


@dataclass(frozen=True)
class LogFilter:
    actor_id: int | None = None
    #: The actions of no person (the system: imports, the demo loader, settling notices).
    system_only: bool = False
    kind: str | None = None
    #: One tag's rows (`AuditTag` value).
    tag: str | None = None
    first: date | None = None
    last: date | None = None


def events(
    session: Session, *, village_id: int, filters: LogFilter, page: int = 1, per_page: int = 50
) -> Page:
    stmt = select(AuditEvent).where(AuditEvent.village_id == village_id)
    if filters.system_only:
        stmt = stmt.where(AuditEvent.actor_id.is_(None))
    elif filters.actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == filters.actor_id)
    if filters.kind in KINDS:
        stmt = stmt.where(AuditEvent.tag.startswith(f"{filters.kind}:"))
    if filters.tag:
        stmt = stmt.where(AuditEvent.tag == filters.tag)
    start, end = local_day_bounds(filters.first, filters.last)
    if start is not None:
        stmt = stmt.where(AuditEvent.created_at >= start)
    if end is not None:
        stmt = stmt.where(AuditEvent.created_at < end)
    stmt = stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    return paginate(session, stmt, page=page, per_page=per_page)


def event(session: Session, *, village_id: int, event_id: int) -> AuditEvent:
    found = session.get(AuditEvent, event_id)
    if found is None or found.village_id != village_id:
        raise NotFound()
    return found


def people(session: Session, *, village_id: int) -> list[User]:
    """The staff of the village, for the person filter."""
    return list(session.scalars(select(User).where(User.village_id == village_id).order_by(User.username)))


def kind_of(tag: str) -> object:
    return KINDS.get(tag.split(":", 1)[0], tag)


def changes(event_data: dict) -> list[tuple[str, object, object]]:
    """(field, before, after) of an update's `changes`, or (field, None, value) of the plain data."""
    data = event_data or {}
    if isinstance(data.get("before"), dict) or isinstance(data.get("after"), dict):
        before, after = data.get("before") or {}, data.get("after") or {}
        return [(key, before.get(key), after.get(key)) for key in sorted({*before, *after})]
    return [(key, None, value) for key, value in sorted(data.items())]
