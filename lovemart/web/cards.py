"""Point card (积分卡) pages: issue, the card with its QR code, a printable card and A4 sheets of cards,
report lost and reissue (挂失补卡), recover (回收).

The card's token is the villager's only credential: it appears on the card page, the print pages and inside
the QR code, never in a list, a flash message or a log line. All of these pages need CARD_WRITE.
"""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from lovemart import qr
from lovemart.authz import Permission, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.forms.cards import ConfirmForm, SheetForm
from lovemart.models.cards import CardStatus
from lovemart.services import cards, households, villages
from lovemart.web.context import working_village

bp = Blueprint("cards", __name__)


def villager_url(token: str) -> str:
    """The absolute URL a card's QR code carries: the household's own page, `public.scan` at /c/<token>.

    On `PUBLIC_BASE_URL` when it is set (the address villagers' phones reach); otherwise on the host the
    administrator is using, which is right only when that is the public address too.
    """
    if base := current_app.config.get("PUBLIC_BASE_URL"):
        return base.rstrip("/") + url_for("public.scan", token=token)
    return url_for("public.scan", token=token, _external=True)


@bp.post("/households/<int:household_id>/issue")
@require(Permission.CARD_WRITE)
def issue(household_id: int):
    village = working_village()
    with unit_of_work() as session:
        card = cards.issue(session, actor=current_actor(), village_id=village.id, household_id=household_id)
        card_id, number = card.id, card.number
    flash(_("已发放积分卡 %(number)s，基础积分已入账。请打印积分卡交给农户。", number=number), "success")
    return redirect(url_for("cards.show", card_id=card_id))


@bp.get("/<int:card_id>")
@require(Permission.CARD_WRITE)
def show(card_id: int):
    village = working_village()
    card = cards.get(db.session, village_id=village.id, card_id=card_id)
    household = households.get(db.session, village_id=village.id, household_id=card.household_id)
    url = villager_url(card.token) if card.status == CardStatus.ACTIVE else None
    return render_template(
        "cards/show.html",
        village=village,
        card=card,
        household=household,
        villager_url=url,
        qr_svg=qr.svg(url) if url else None,
    )


@bp.get("/<int:card_id>/print")
@require(Permission.CARD_WRITE)
def print_card(card_id: int):
    village = working_village()
    card = cards.get_active(db.session, village_id=village.id, card_id=card_id)
    household = households.get(db.session, village_id=village.id, household_id=card.household_id)
    return render_template(
        "print/card.html",
        village=village,
        items=[(card, household, qr.svg(villager_url(card.token)))],
    )


@bp.get("/sheet")
@require(Permission.CARD_WRITE)
def sheet():
    """An A4 sheet of the village's (or one group's) active cards, ten to a page."""
    village = working_village()
    groups = villages.groups(db.session, village.id)
    form = SheetForm(request.args, groups=groups)
    form.validate()
    printable = cards.printable(db.session, village_id=village.id, group_id=form.group_id)
    return render_template(
        "print/sheet.html",
        village=village,
        form=form,
        group=next((g for g in groups if g.id == form.group_id), None),
        items=[(p.card, p.household, qr.svg(villager_url(p.card.token))) for p in printable],
    )


@bp.route("/<int:card_id>/reissue", methods=["GET", "POST"])
@require(Permission.CARD_WRITE)
def reissue(card_id: int):
    """挂失补卡: a confirm page, then the old card dies at once and a new one points at the same account."""
    village = working_village()
    form = ConfirmForm()
    if form.validate_on_submit():
        with unit_of_work() as session:
            card = cards.reissue(session, actor=current_actor(), village_id=village.id, card_id=card_id)
            new_id, number = card.id, card.number
        flash(_("已挂失旧卡并补发新卡 %(number)s，积分余额不变。请打印新卡。", number=number), "success")
        return redirect(url_for("cards.show", card_id=new_id))
    return _confirm_page(village, card_id, form, "reissue")


@bp.route("/<int:card_id>/recover", methods=["GET", "POST"])
@require(Permission.CARD_WRITE)
def recover(card_id: int):
    """回收: the card is dead and the household's points account frozen; its history is kept."""
    village = working_village()
    form = ConfirmForm()
    if form.validate_on_submit():
        with unit_of_work() as session:
            card = cards.recover(session, actor=current_actor(), village_id=village.id, card_id=card_id)
            household_id, number = card.household_id, card.number
        flash(_("已回收积分卡 %(number)s，该户积分账户已冻结。", number=number), "success")
        return redirect(url_for("households.detail", household_id=household_id))
    return _confirm_page(village, card_id, form, "recover")


def _confirm_page(village, card_id: int, form: ConfirmForm, action: str):
    card = cards.get_active(db.session, village_id=village.id, card_id=card_id)
    household = households.get(db.session, village_id=village.id, household_id=card.household_id)
    return render_template("cards/confirm.html", card=card, household=household, form=form, action=action)
