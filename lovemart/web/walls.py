"""The wish wall (心愿墙) and the response wall (回音墙): staff pages at /walls, the public wall at
/wall/<village code> for the shop's screen or anyone's phone, and the household's own wishes at /me/wishes.

The public wall shows approved wishes and fulfilled ones with the donor's thanks; it names a household only
as "王家, 啊道组" and shows no photo (a photo of a home is not public). It is public on purpose, like the
paper wall in the shop, so it is reached by the village code rather than a secret link.
"""

from functools import partial

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from lovemart.authz import Permission, current_actor, public, require
from lovemart.db import db, unit_of_work
from lovemart.forms.walls import (
    DeclineForm,
    FulfilForm,
    GoodsForm,
    HandoverForm,
    PledgeForm,
    StaffWishForm,
    WishForm,
)
from lovemart.models import Card
from lovemart.models.walls import WishStatus
from lovemart.scope import restrict
from lovemart.services import donations, inventory, points, walls
from lovemart.services.errors import InvalidInput
from lovemart.web.context import working_village, working_village_id
from lovemart.web.forms import perform, submit
from lovemart.web.photos import store_upload
from lovemart.web.villager import villager_page

bp = Blueprint("walls", __name__)

#: What each tab of the staff list shows.
TABS = {
    "pending": (WishStatus.PENDING,),
    "open": (WishStatus.OPEN, WishStatus.PLEDGED),
    "fulfilled": (WishStatus.FULFILLED,),
    "declined": (WishStatus.DECLINED,),
}
#: The public wall: waiting wishes, then the response wall.
WALL = (WishStatus.OPEN, WishStatus.PLEDGED)
RESPONSES = (WishStatus.FULFILLED,)


# ---- staff ----------------------------------------------------------------------------------------------


@bp.get("/walls/")
@require(Permission.WALL_READ)
def index():
    village = working_village()
    tab = request.args.get("tab", "pending")
    if tab not in TABS:
        tab = "pending"
    page = walls.wishes(
        db.session,
        village_id=village.id,
        statuses=TABS[tab],
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
    )
    by_status = walls.counts(db.session, village_id=village.id)
    counts = {key: sum(by_status.get(s.value, 0) for s in statuses) for key, statuses in TABS.items()}
    return render_template("walls/index.html", village=village, page=page, tab=tab, tabs=TABS, counts=counts)


@bp.route("/walls/new", methods=["GET", "POST"])
@require(Permission.WALL_WRITE)
def create():
    """The administrator posts a wish for a household that asked at the shop."""
    village = working_village()
    form = StaffWishForm()
    if form.validate_on_submit():
        wish = submit(form, partial(_post_for_household, village.id, form))
        if wish is not None:
            flash(_("已登记心愿，等待监督员审核后上墙。"), "success")
            return redirect(url_for("walls.detail", wish_id=wish))
    holders = points.holders(db.session, village_id=village.id)
    return render_template("walls/new.html", form=form, holders=holders)


@bp.get("/walls/<int:wish_id>")
@require(Permission.WALL_READ)
def detail(wish_id: int):
    village = working_village()
    wish = walls.get(db.session, village_id=village.id, wish_id=wish_id)
    return render_template("walls/detail.html", **_detail(village, wish))


@bp.post("/walls/<int:wish_id>/approve")
@require(Permission.WALL_MODERATE)
def approve(wish_id: int):
    return _act(wish_id, None, walls.approve, _("已审核通过，心愿已上墙。"))


@bp.post("/walls/<int:wish_id>/decline")
@require(Permission.WALL_MODERATE)
def decline(wish_id: int):
    form = DeclineForm()
    return _act(wish_id, form, walls.decline, _("已退回，农户会看到原因。"), reason=form.reason.data)


@bp.post("/walls/<int:wish_id>/pledge")
@require(Permission.WALL_WRITE)
def pledge(wish_id: int):
    form = PledgeForm(donors=donations.donors(db.session, village_id=working_village_id()))
    return _act(
        wish_id, form, walls.pledge, _("已登记认领。"), donor_id=form.donor_id.data, note=form.note.data
    )


@bp.post("/walls/<int:wish_id>/goods")
@require(Permission.WALL_WRITE)
def goods(wish_id: int):
    form = GoodsForm(donations=_donations_of_donor(working_village_id(), wish_id))
    return _act(wish_id, form, walls.receive_goods, _("已关联捐赠物资。"), donation_id=form.donation_id.data)


@bp.post("/walls/<int:wish_id>/handover")
@require(Permission.WALL_WRITE)
def handover(wish_id: int):
    form = HandoverForm(products=inventory.catalogue(db.session, village_id=working_village_id()))
    return _act(
        wish_id,
        form,
        walls.hand_over,
        _("已交付，库存已出库。"),
        product_id=form.product_id.data,
        quantity=form.quantity.data,
    )


@bp.post("/walls/<int:wish_id>/fulfil")
@require(Permission.WALL_WRITE)
def fulfil(wish_id: int):
    form = FulfilForm()
    return _act(
        wish_id,
        form,
        walls.fulfil,
        _("心愿已实现，已移到回音墙。"),
        fulfilment=form.fulfilment.data,
        thanks=form.thanks.data,
    )


@bp.get("/walls/print")
@require(Permission.WALL_READ)
def printable():
    """The wall on A4 for the shop's notice board."""
    village = working_village()
    return render_template("print/wall.html", village=village, **_wall(village.id))


# ---- public and villager --------------------------------------------------------------------------------


@bp.get("/wall/<village_code>")
@public
def wall(village_code: str):
    village = walls.village_by_code(db.session, village_code)
    if village is None:
        return render_template("public/invalid_wall.html"), 404
    restrict(db.session, (village.id,))  # an anonymous reader: this village's rows, and only these
    return render_template("public/wall.html", village=village, **_wall(village.id))


@bp.route("/me/wishes", methods=["GET", "POST"])
@villager_page
def mine(card: Card):
    """The household's wishes and their answers, and a form to post a new one."""
    form = WishForm()
    if form.validate_on_submit():
        posted = submit(form, partial(_post_from_phone, card, form))
        if posted is not None:
            flash(_("心愿已提交，村里审核后会贴上心愿墙。"), "success")
            return redirect(url_for("walls.mine"))
    page = walls.wishes(
        db.session,
        village_id=card.village_id,
        household_id=card.household_id,
        statuses=tuple(WishStatus),
        per_page=20,
    )
    return render_template("public/wishes.html", form=form, page=page)


# ---- helpers --------------------------------------------------------------------------------------------


def _post_for_household(village_id: int, form: StaffWishForm) -> int:
    household_id = walls.household_by_number(
        db.session, village_id=village_id, number=form.household_number.data
    )
    if household_id is None:
        raise InvalidInput(
            _("本村没有户号为 %(number)s 的农户。", number=form.household_number.data),
            field="household_number",
        )
    return _post(village_id, household_id, form, from_villager=False)


def _post_from_phone(card: Card, form: WishForm) -> int:
    return _post(card.village_id, card.household_id, form, from_villager=True)


def _post(village_id: int, household_id: int, form: WishForm, *, from_villager: bool) -> int:
    photo = store_upload(village_id, form.photo.data)
    with unit_of_work() as session:
        return walls.post_wish(
            session,
            actor=None if from_villager else current_actor(),
            village_id=village_id,
            household_id=household_id,
            text=form.text.data,
            category=form.category.data,
            photo=photo,
            request_key=f"wish:{form.request_key.data}",
            from_villager=from_villager,
        ).id


def _act(wish_id: int, form, service, done: str, **kwargs):
    """One action on a wish from its detail page; a refusal shows on that page."""
    village = working_village()
    if form is None or form.validate_on_submit():
        result = perform(form or DeclineForm(), service, village_id=village.id, wish_id=wish_id, **kwargs)
        if result is not None:
            flash(done, "success")
            return redirect(url_for("walls.detail", wish_id=wish_id))
        if form is None:
            form = DeclineForm()
    wish = walls.get(db.session, village_id=village.id, wish_id=wish_id)
    errors = [*form.form_errors, *(e for field in form for e in field.errors)]
    for error in errors:
        flash(str(error), "error")
    return render_template("walls/detail.html", **_detail(village, wish)), 422


def _detail(village, wish) -> dict:
    return {
        "village": village,
        "wish": wish,
        "steps": walls.chain(db.session, wish),
        "household": walls.household_label(db.session, wish),
        "decline_form": DeclineForm(),
        "pledge_form": PledgeForm(donors=donations.donors(db.session, village_id=village.id)),
        "goods_form": GoodsForm(donations=_donations_of_donor(village.id, wish.id)),
        "handover_form": HandoverForm(products=inventory.catalogue(db.session, village_id=village.id)),
        "fulfil_form": FulfilForm(),
    }


def _donations_of_donor(village_id: int, wish_id: int) -> list:
    wish = walls.get(db.session, village_id=village_id, wish_id=wish_id)
    return walls.goods_donations(db.session, village_id=village_id, donor_id=wish.donor_id)


def _wall(village_id: int) -> dict:
    return {
        "wishes": walls.wishes(db.session, village_id=village_id, statuses=WALL, per_page=60).items,
        "responses": walls.wishes(db.session, village_id=village_id, statuses=RESPONSES, per_page=30).items,
    }
