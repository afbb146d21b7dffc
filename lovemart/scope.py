"""Village isolation in one place: every ORM SELECT of a `VillageScoped` row is filtered to the villages
in the session's scope, so another village's object is simply not found (404), by any URL or API call.

A request's scope is its working village alone (`lovemart.web.context`), for county users too: they read
one village at a time, like everyone else. `restrict(session, ids)` sets the scope; `None` (the CLI, system
jobs, the system admin) means all villages. Two narrow ways out, each used where it is justified:

- `across(session, ids)`: a block that reads several villages on purpose (the county dashboard, over the
  villages its user may read), then the request's scope again;
- `execution_options(all_villages=True)` on one query that must look across villages before the village is
  known (resolving a card token).

`unrestricted(session)` switches the scope off for a block: for tests that prove a service's own village
filter holds without it.
"""

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from lovemart.models.scoped import VillageScoped

_KEY = "village_scope"


def restrict(session: Session, village_ids: Iterable[int] | None) -> None:
    session.info[_KEY] = None if village_ids is None else tuple(sorted(set(village_ids)))


def clear(session: Session) -> None:
    """Back to unrestricted (the CLI's view); called when a request ends."""
    session.info.pop(_KEY, None)


@contextmanager
def across(session: Session, village_ids: Iterable[int] | None) -> Iterator[None]:
    """The block reads `village_ids` (the caller has checked the actor may read them all; `None`: all
    villages), then the session's scope is what it was before."""
    missing = object()
    before = session.info.get(_KEY, missing)
    restrict(session, village_ids)
    try:
        yield
    finally:
        if before is missing:
            clear(session)
        else:
            session.info[_KEY] = before


def unrestricted(session: Session) -> AbstractContextManager[None]:
    """The scope switched off for a block (tests proving a service's own village filter)."""
    return across(session, None)


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
