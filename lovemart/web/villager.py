"""How a villager's phone holds its card: the QR link is exchanged for a short-lived cookie.

The card's QR code carries `/c/<token>`, the household's only credential. `enter` looks the token up once,
puts it in a signed, HttpOnly cookie scoped to `/me` and redirects there, so the token does not stay in the
address bar, the history or a Referer. Every villager page is a view under `/me` wrapped in `@villager_page`,
which reads the cookie, looks the card up again (a card reported lost stops working at once), narrows the
session to the card's village and hands the card to the view. The cookie expires `VILLAGER_SESSION_SECONDS`
after the last page viewed; then the villager scans the card again.

These pages are built to give nothing away: an unknown, lost or recovered card, a missing or forged
cookie all get the same page after the same single lookup; lookups are rate limited per address; responses
are never cached and carry a CSP that allows no script at all. The one exception is a session that timed
out on this phone: the scan also leaves a marker cookie (no token in it) that outlives the session, so a
villager coming back later is asked kindly to scan the card again (`scan_again`) instead of reading that
the card is lost or recovered. The marker says only that this phone scanned some card once.

Large print (长辈版) is a choice the phone keeps: `?big=1` on any villager page turns it on, `?big=0` off,
in a cookie of its own under `/me`; `large_print()` is the answer for the current request.
"""

import re
from collections.abc import Callable
from functools import wraps

from flask import current_app, g, make_response, redirect, render_template, request, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from lovemart.authz import public
from lovemart.db import db
from lovemart.extensions import limiter
from lovemart.models import Card
from lovemart.scope import restrict
from lovemart.services import cards

COOKIE = "lovemart_card"
COOKIE_PATH = "/me"
#: Left by the scan, without the token: "this phone had a session", for the kind page once it timed out.
SCANNED_COOKIE = "lovemart_scanned"
SCANNED_SECONDS = 90 * 24 * 3600
#: 长辈版 chosen on this phone.
LARGE_PRINT_COOKIE = "lovemart_big"
LARGE_PRINT_SECONDS = 365 * 24 * 3600

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
    _set_plain_cookie(response, SCANNED_COOKIE, "1", SCANNED_SECONDS)
    return private(response)


def villager_page(view: Callable) -> Callable:
    """For views under `/me`: call `view(card=<the active Card>, ...)`, or answer the invalid page."""

    @card_lookup_limit
    @public
    @wraps(view)
    def wrapped(*args, **kwargs):
        token, expired = _cookie_token()
        found = active_card(token) if token else None
        if found is None:
            if expired or (token is None and request.cookies.get(SCANNED_COOKIE)):
                return scan_again()
            return invalid()
        g.large_print = large_print()
        response = make_response(view(*args, card=found, **kwargs))
        _set_cookie(response, token)  # sliding expiry: the clock restarts with every page
        choice = request.args.get("big")
        if choice == "1":
            _set_plain_cookie(response, LARGE_PRINT_COOKIE, "1", LARGE_PRINT_SECONDS)
        elif choice == "0" and LARGE_PRINT_COOKIE in request.cookies:
            response.delete_cookie(LARGE_PRINT_COOKIE, path=COOKIE_PATH)
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


def scan_again():
    """The villager's session on this phone timed out: a kind word, and how to open the page again."""
    return private(make_response(render_template("public/scan_again.html"), 401))


def large_print() -> bool:
    """Whether this request shows 长辈版: `?big=1` / `?big=0` if given, else the phone's kept choice."""
    choice = request.args.get("big")
    if choice in ("0", "1"):
        return choice == "1"
    return request.cookies.get(LARGE_PRINT_COOKIE) == "1"


def private(response):
    response.headers.update(SECURITY_HEADERS)
    return response


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="villager-card")


def _cookie_token() -> tuple[str | None, bool]:
    """The card token in the cookie, or None; and whether a genuine cookie was there but timed out."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None, False
    try:
        token = _serializer().loads(value, max_age=current_app.config["VILLAGER_SESSION_SECONDS"])
    except SignatureExpired:  # ours, only too old
        return None, True
    except BadSignature:
        return None, False
    return (token if isinstance(token, str) else None), False


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


def _set_plain_cookie(response, name: str, value: str, max_age: int) -> None:
    """A cookie under `/me` holding no credential (the scan marker, the large-print choice)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )
