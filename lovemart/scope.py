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

A session given no scope of its own takes the ambient one (`ambient_scope`): the request's, which
`lovemart.web.context` installs, so a request that never queries never even creates its ORM session; the
CLI's (all villages) where none is installed or outside a request.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from lovemart.models.scoped import VillageScoped

_KEY = "village_scope"
_UNSET = object()


def _unrestricted() -> tuple[int, ...] | None:
    return None


#: The scope of a session that was given none (see `ambient_scope`).
_ambient: Callable[[], tuple[int, ...] | None] = _unrestricted


def ambient_scope(provider: Callable[[], tuple[int, ...] | None]) -> None:
    """Where a session with no scope of its own (`restrict`) finds one: `provider()` is asked at each
    ORM SELECT of such a session (None: all villages)."""
    global _ambient
    _ambient = provider


def scope_of(session: Session) -> tuple[int, ...] | None:
    """The villages `session` reads: its own scope, else the ambient one (None: all)."""
    ids = session.info.get(_KEY, _UNSET)
    return _ambient() if ids is _UNSET else ids


def restrict(session: Session, village_ids: Iterable[int] | None) -> None:
    session.info[_KEY] = None if village_ids is None else tuple(sorted(set(village_ids)))


def clear(session: Session) -> None:
    """Back to the ambient scope (the request's; outside a request, unrestricted: the CLI's view)."""
    session.info.pop(_KEY, None)


@contextmanager
def across(session: Session, village_ids: Iterable[int] | None) -> Iterator[None]:
    """The block reads `village_ids` (the caller has checked the actor may read them all; `None`: all
    villages), then the session's scope is what it was before (its own, or the ambient one)."""
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
    if (
        not state.is_select
        or state.is_column_load
        or state.is_relationship_load
        or state.execution_options.get("all_villages")
    ):
        return
    ids = scope_of(state.session)
    if ids is None:
        return
    state.statement = state.statement.options(
        with_loader_criteria(VillageScoped, lambda cls: cls.village_id.in_(ids), include_aliases=True)
    )
