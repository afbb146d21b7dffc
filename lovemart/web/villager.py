"""How a villager's phone holds its card: the QR link is exchanged for a short-lived cookie.

The card's QR code carries `/c/<token>`, the household's only credential. `enter` looks the token up once,
puts it in a signed, HttpOnly cookie scoped to `/me` and redirects there, so the token does not stay in the
address bar, the history or a Referer. Every villager page is a view under `/me` wrapped in `@villager_page`,
which reads the cookie, looks the card up again (a card reported lost stops working at once), narrows the
session to the card's village and hands the card to the view. The cookie expires `VILLAGER_SESSION_SECONDS`
after the last page viewed; then the villager scans the card again.

These pages are built to give nothing away: an unknown, lost or recovered card, a missing or expired
cookie all get the same page after the same single lookup; lookups are rate limited per address; responses
are never cached and carry a CSP that allows no script at all.
"""

import re
from collections.abc import Callable
from functools import wraps

from flask import current_app, make_response, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from lovemart.authz import public
from lovemart.db import db
from lovemart.extensions import limiter
from lovemart.models import Card
from lovemart.scope import restrict
from lovemart.services import cards

COOKIE = "lovemart_card"
COOKIE_PATH = "/me"

#: What `cards` issues (`secrets.token_urlsafe`), with room to spare.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_NO_TOKEN = "-"  # noqa: S105 - a placeholder that matches no card, not a secret

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",  # a Referer never leaves the site; see lovemart.web.security
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        # script-src 'self': /me's own static/js/notice-check.js, which checks the notices' proofs
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
    ),
}


def _card_page_limit() -> str:
    return current_app.config.get("CARD_PAGE_RATE_LIMIT", "60 per minute")


#: One budget per address, shared by every villager page and the QR link itself.
card_lookup_limit = limiter.shared_limit(_card_page_limit, scope="public-card")


def enter(token: str):
    """`/c/<token>`: the QR link. Valid card → cookie and 303 to `/me`; anything else → the invalid page."""
    found = active_card(token)
    if found is None:
        return invalid()
    response = redirect(url_for("public.card"), code=303)
    _set_cookie(response, token)
    return private(response)


def villager_page(view: Callable) -> Callable:
    """For views under `/me`: call `view(card=<the active Card>, ...)`, or answer the invalid page."""

    @card_lookup_limit
    @public
    @wraps(view)
    def wrapped(*args, **kwargs):
        token = _cookie_token()
        found = active_card(token) if token else None
        if found is None:
            return invalid()
        response = make_response(view(*args, card=found, **kwargs))
        _set_cookie(response, token)  # sliding expiry: the clock restarts with every page
        return private(response)

    return wrapped


def active_card(token: str) -> Card | None:
    """The active card behind the token, with the session narrowed to its village; None otherwise.

    A token that cannot be one (wrong length or characters, e.g. a NUL byte PostgreSQL refuses) is looked up
    as a placeholder that matches nothing, so every request runs the same single lookup.
    """
    found = cards.by_token(db.session, token if _TOKEN_SHAPE.fullmatch(token) else _NO_TOKEN)
    if found is not None:
        restrict(db.session, (found.village_id,))
    return found


def invalid():
    """One answer for every card that does not open a page: unknown, lost, recovered or timed out alike."""
    return private(make_response(render_template("public/invalid.html"), 404))


def private(response):
    response.headers.update(SECURITY_HEADERS)
    return response


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="villager-card")


def _cookie_token() -> str | None:
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        token = _serializer().loads(value, max_age=current_app.config["VILLAGER_SESSION_SECONDS"])
    except BadSignature:  # includes SignatureExpired
        return None
    return token if isinstance(token, str) else None


def _set_cookie(response, token: str) -> None:
    config = current_app.config
    response.set_cookie(
        COOKIE,
        _serializer().dumps(token),
        max_age=config["VILLAGER_SESSION_SECONDS"],
        path=COOKIE_PATH,
        secure=config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",  # the scan is a navigation from the camera app: Strict would drop the cookie
    )
