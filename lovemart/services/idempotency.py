"""Request keys (idempotency keys): one lookup for every write that takes one.

A key is unique across villages (each table's unique constraint on `request_key`), and it names one request
of one village: the same key again from that village returns what the first request wrote (the caller checks
that it was the same request); a key that another village already used is an `IdempotencyConflict`, never a
second row that the constraint would refuse. The lookup therefore looks across villages on purpose, and
tells the caller nothing of the other village's row. Callers put the operation into the key (`award:…`,
`api:postWish:…`), so one key for two kinds of request names two requests."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from lovemart.services.errors import IdempotencyConflict


def replayed(session: Session, model, request_key: str | None, *, village_id: int):
    """The `model` row that an earlier request with `request_key` wrote in this village, or None.

    :raise IdempotencyConflict: another village used the key.
    """
    if not request_key:
        return None
    done = session.scalar(
        select(model).where(model.request_key == request_key).execution_options(all_villages=True)
    )
    if done is not None and done.village_id != village_id:
        raise IdempotencyConflict()
    return done
