"""The villager's own pages behind the card's QR code, with no sign-in: `/c/<token>` opens them (see
`lovemart.web.villager` for the cookie exchange and what these pages give away: nothing), `/me` shows the
household's balance and latest entries and, for each notice of the last year, the household's lines with
their proofs, `/me/apply` asks for points, `/me/goods` lists the shop's goods.

The pages need no image and nothing from another host, and run a fixed number of statements whatever the
size of the ledger. The one script, static/js/notice-check.js, only checks the proofs on the phone (the
page reads the same without it).
"""

from datetime import timedelta
from functools import partial

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from lovemart import notekey
from lovemart.authz import public
from lovemart.db import db, unit_of_work
from lovemart.forms.public import ApplicationForm
from lovemart.models import Card
from lovemart.services import accounts, checkpoints, inventory, notices, points
from lovemart.services.errors import NotFound
from lovemart.services.points import VILLAGE_TIMEZONE
from lovemart.web.forms import submit
from lovemart.web.photos import store_upload
from lovemart.web.villager import card_lookup_limit, enter, invalid, large_print, private, villager_page

bp = Blueprint("public", __name__)
bp.after_request(private)  # also on the answers that never reach a view: 429, CSRF refusals

#: Large print (长辈版): fewer lines, bigger type.
BIG_ENTRIES = 5
BIG_APPLICATIONS = 3
#: How far back /me lists the household's lines of each notice, with their proofs.
CHECKED_DAYS = 366


@bp.context_processor
def _helpers() -> dict:
    return {"local_date": _local_date}


@bp.get("/c/<any_text:token>")  # a malformed token gets the same page, after the same lookup
@card_lookup_limit
@public
def scan(token: str):
    return enter(token)


@bp.get("/me")
@villager_page
def card(card: Card):
    big = large_print()
    view = accounts.villager_view(
        db.session,
        card,
        entries=BIG_ENTRIES if big else accounts.RECENT_ENTRIES,
        applications=BIG_APPLICATIONS if big else accounts.RECENT_APPLICATIONS,
    )
    checks = checkpoints.household_checks(
        db.session,
        village_id=card.village_id,
        account_id=card.account_id,
        since=notices.local_today() - timedelta(days=CHECKED_DAYS),
    )
    key = notekey.notice_key() if checks else None
    return render_template("public/card.html", view=view, big=big, checks=checks, notice_key=key)


@bp.route("/me/apply", methods=["GET", "POST"])
@villager_page
def apply(card: Card):
    """积分申报: the household asks for points under an earning rule; the administrator decides."""
    village_id, household_id = card.village_id, card.household_id
    form = ApplicationForm(rules=accounts.earning_rules(db.session, village_id=village_id))
    if (
        form.validate_on_submit()
        and submit(form, partial(_apply, form, village_id, household_id)) is not None
    ):
        flash(_("申报已提交，请等待村里受理。"), "success")
        return redirect(url_for("public.card"))
    return render_template("public/apply.html", form=form)


@bp.get("/me/goods")
@villager_page
def goods(card: Card):
    """The shop's goods with their points prices, so a household can plan what to redeem."""
    products = inventory.catalogue(db.session, village_id=card.village_id)
    zones = inventory.zones(db.session, village_id=card.village_id)
    return render_template("public/goods.html", zones=zones, products=products)


@bp.errorhandler(429)
def _too_many(_error):
    return render_template("public/too_many.html"), 429


@bp.errorhandler(CSRFError)
def _form_expired(_error):
    return render_template("public/expired.html"), 400


@bp.errorhandler(NotFound)
def _not_found(_error):
    return invalid()


def _apply(form: ApplicationForm, village_id: int, household_id: int) -> int:
    request_key = f"apply:{form.request_key.data}"
    evidence = None
    photo = form.photo.data
    if photo and photo.filename and accounts.application_by_key(db.session, request_key) is None:
        evidence = store_upload(village_id, photo)
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
