"""The `Idempotency-Key` header, the same for every operation that takes one (`postWish`, `awardPoints`,
`reverseEntry`, `raiseObjection`, `redeem`): any 1–64 printable ASCII characters, scoped to the caller's
village and the operation. The same key for the same request of the same village answers with what the
first one recorded; for another request, or in another village, it is a 422 `idempotency_conflict`
(`lovemart.services.idempotency`); the same key for another operation names another request."""

from collections.abc import Callable
from typing import TypeVar

from marshmallow import Schema, fields, validate
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lovemart.db import unit_of_work

T = TypeVar("T")


def _key(description: str, **options) -> fields.String:
    return fields.String(
        data_key="Idempotency-Key",
        validate=validate.Regexp(r"^[\x21-\x7e]{1,64}$"),
        metadata={"description": f"Any 1–64 printable ASCII characters; {description}"},
        **options,
    )


class IdempotencyHeader(Schema):
    idempotency_key = _key("a retry with the same key records nothing.", load_default=None)


class RequiredIdempotencyHeader(Schema):
    idempotency_key = _key(
        "a fresh random value per request, sent unchanged with every retry.", required=True
    )


def request_key(operation: str, idempotency_key: str | None) -> str | None:
    """The key as the services store it: the operation's name and the caller's key (at most 80 characters,
    the column's size). The village is the service's own check."""
    return f"api:{operation}:{idempotency_key}" if idempotency_key else None


def write(call: Callable[[Session], T], *, retry: bool) -> T:
    """One unit of work. With an idempotency key, a concurrent twin that committed first makes ours fail on
    the unique key: run once more, and the service answers with the twin's result."""
    try:
        with unit_of_work() as session:
            return call(session)
    except IntegrityError:
        if not retry:
            raise
        with unit_of_work() as session:
            return call(session)
