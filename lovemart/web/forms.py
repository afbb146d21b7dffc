"""`submit(form, call)` and `perform(form, service, …)`: run one service for a valid form and show a
refusal on the form itself."""

from collections.abc import Callable
from typing import TypeVar

from lovemart.authz import current_actor
from lovemart.db import unit_of_work
from lovemart.services.errors import DomainError, NotFound

T = TypeVar("T")


def submit(form, call: Callable[[], T], *, raising: tuple[type[DomainError], ...] = ()) -> T | None:
    """The service's result, or None with the refusal attached to the field it names (or the whole form).

    `NotFound` is not a form problem and propagates, so the page answers 404; so do the refusals in
    `raising`, which the caller's blueprint answers with a page of their own (`Blueprint.errorhandler`).
    """
    try:
        return call()
    except (NotFound, *raising):
        raise
    except DomainError as error:
        if getattr(form, "take_refusal", None) is not None and form.take_refusal(error):
            return None  # the form put it where it belongs (e.g. the counter: beside one product)
        field = getattr(form, getattr(error, "field", None) or "", None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, error.message]
        else:
            form.form_errors.append(error.message)
        return None


def perform(form, service: Callable[..., T], /, **kwargs) -> T | None:
    """`service(session, actor=<the acting user>, **kwargs)` in one unit of work, through `submit`."""

    def call():
        with unit_of_work() as session:
            return service(session, actor=current_actor(), **kwargs)

    return submit(form, call)
