"""The villager's own pages behind the card's QR code, with no sign-in: the token in the URL is the only
credential, so these pages are built to give nothing away.

- A lost or recovered card and a token that never existed get the same 404 page, byte for byte, after the
  same single lookup (`cards.by_token`), so neither status, body nor timing tells them apart.
- Lookups are rate limited per address (`CARD_PAGE_RATE_LIMIT`), shared by every page here.
- Responses are never cached and never leak the URL as a referrer; the pages need no script, no image and
  nothing from another host, and run a fixed number of statements whatever the size of the ledger.
- Once the card is known, the session reads only that card's village (`lovemart.scope`).
"""

import re
from functools import partial
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from lovemart.authz import public
from lovemart.db import db, unit_of_work
from lovemart.extensions import limiter
from lovemart.forms.public import ApplicationForm
from lovemart.models import Card
from lovemart.scope import restrict
from lovemart.services import accounts, cards, inventory, photos, points
from lovemart.services.errors import NotFound
from lovemart.services.points import VILLAGE_TIMEZONE
from lovemart.web.forms import submit

bp = Blueprint("public", __name__)

#: What `cards` issues (`secrets.token_urlsafe`), with room to spare.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_NO_TOKEN = "-"  # noqa: S105 - a placeholder that matches no card, not a secret

#: Large print (长辈版): fewer lines, bigger type.
BIG_ENTRIES = 5
BIG_APPLICATIONS = 3

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
}


def _card_page_limit() -> str:
    return current_app.config.get("CARD_PAGE_RATE_LIMIT", "60 per minute")


_card_lookup_limit = limiter.shared_limit(_card_page_limit, scope="public-card")


@bp.after_request
def _private(response):
    response.headers.update(SECURITY_HEADERS)
    return response


@bp.context_processor
def _helpers() -> dict:
    return {"local_date": _local_date}


@bp.get("/c/<token>")
@_card_lookup_limit
@public
def card(token: str):
    found = _active_card(token)
    if found is None:
        return _invalid()
    big = request.args.get("big") == "1"
    view = accounts.villager_view(
        db.session,
        found,
        entries=BIG_ENTRIES if big else accounts.RECENT_ENTRIES,
        applications=BIG_APPLICATIONS if big else accounts.RECENT_APPLICATIONS,
    )
    return render_template("public/card.html", view=view, token=token, big=big)


@bp.route("/c/<token>/apply", methods=["GET", "POST"])
@_card_lookup_limit
@public
def apply(token: str):
    """积分申报: the household asks for points under an earning rule; the administrator decides."""
    found = _active_card(token)
    if found is None:
        return _invalid()
    village_id, household_id = found.village_id, found.household_id
    form = ApplicationForm(rules=accounts.earning_rules(db.session, village_id=village_id))
    if (
        form.validate_on_submit()
        and submit(form, partial(_apply, form, village_id, household_id)) is not None
    ):
        flash(_("申报已提交，请等待村里受理。"), "success")
        return redirect(url_for("public.card", token=token))
    return render_template("public/apply.html", form=form, token=token)


@bp.get("/c/<token>/goods")
@_card_lookup_limit
@public
def goods(token: str):
    """The shop's goods with their points prices, so a household can plan what to redeem."""
    found = _active_card(token)
    if found is None:
        return _invalid()
    products = inventory.catalogue(db.session, village_id=found.village_id)
    zones = inventory.zones(db.session, village_id=found.village_id)
    return render_template("public/goods.html", token=token, zones=zones, products=products, big=False)


@bp.errorhandler(429)
def _too_many(_error):
    return render_template("public/too_many.html"), 429


@bp.errorhandler(CSRFError)
def _form_expired(_error):
    token = (request.view_args or {}).get("token", "")
    return render_template("public/expired.html", token=token), 400


@bp.errorhandler(NotFound)
def _not_found(_error):
    return _invalid()


def _active_card(token: str) -> Card | None:
    """The active card behind the token, with the session narrowed to its village; None otherwise.

    A token that cannot be one (wrong length or characters, e.g. a NUL byte PostgreSQL refuses) is looked up
    as a placeholder that matches nothing, so every request runs the same single lookup.
    """
    found = cards.by_token(db.session, token if _TOKEN_SHAPE.fullmatch(token) else _NO_TOKEN)
    if found is not None:
        restrict(db.session, (found.village_id,))
    return found


def _invalid():
    """One answer for every token that does not open a page: unknown, lost or recovered alike."""
    return render_template("public/invalid.html"), 404


def _apply(form: ApplicationForm, village_id: int, household_id: int) -> int:
    request_key = f"apply:{form.request_key.data}"
    evidence = None
    photo = form.photo.data
    if photo and photo.filename and accounts.application_by_key(db.session, request_key) is None:
        evidence = photos.store(
            Path(current_app.instance_path) / "photos", village_id=village_id, data=photo.read()
        )
    record = partial(
        points.apply,
        village_id=village_id,
        household_id=household_id,
        rule_id=form.rule_id.data,
        note=form.note.data,
        evidence=evidence,
        request_key=request_key,
    )
    with unit_of_work() as session:
        return record(session).id


def _local_date(value) -> str:
    return value.astimezone(VILLAGE_TIMEZONE).strftime("%Y-%m-%d")
