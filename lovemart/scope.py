"""Village isolation in one place: every ORM SELECT of a `VillageScoped` row is filtered to the villages
of the acting user, so another village's object is simply not found (404), by any URL or API call.

`restrict(session, ids)` sets the villages a session may read; `None` (the CLI and system jobs) means all.
A query that must look across villages on purpose (resolving a card token before its village is known)
passes `execution_options(all_villages=True)`.
"""

from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from lovemart.models.scoped import VillageScoped

_KEY = "village_scope"


def restrict(session: Session, village_ids: Iterable[int] | None) -> None:
    session.info[_KEY] = None if village_ids is None else tuple(sorted(set(village_ids)))


def clear(session: Session) -> None:
    """Back to unrestricted (the CLI's view); called when a request ends."""
    session.info.pop(_KEY, None)


@event.listens_for(Session, "do_orm_execute")
def _filter_to_scope(state: ORMExecuteState) -> None:
    ids = state.session.info.get(_KEY)
    if (
        ids is None
        or not state.is_select
        or state.is_column_load
        or state.is_relationship_load
        or state.execution_options.get("all_villages")
    ):
        return
    state.statement = state.statement.options(
        with_loader_criteria(VillageScoped, lambda cls: cls.village_id.in_(ids), include_aliases=True)
    )
