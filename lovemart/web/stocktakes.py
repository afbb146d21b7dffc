"""Stocktake (盘点) pages: start a count of one zone or the whole shop, enter counted quantities, review the
differences, confirm (each difference becomes an adjustment naming the stocktake), print the report."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.forms.stocktakes import ConfirmForm, CountForm, StartStocktakeForm
from lovemart.services import inventory
from lovemart.web.context import working_village
from lovemart.web.forms import submit

bp = Blueprint("stocktakes", __name__)


@bp.get("/")
@require(Permission.SHOP_READ)
def index():
    village = working_village()
    zones = inventory.zones(db.session, village_id=village.id, include_inactive=True)
    return render_template(
        "stocktakes/index.html",
        village=village,
        stocktakes=inventory.stocktakes(db.session, village_id=village.id),
        zones={z.id: z for z in zones},
        form=StartStocktakeForm(zones=[z for z in zones if z.active]),
    )


@bp.post("/")
@require(Permission.SHOP_WRITE)
def start():
    village = working_village()
    zones = inventory.zones(db.session, village_id=village.id)
    form = StartStocktakeForm(zones=zones)
    if not form.validate_on_submit():
        flash(_("请选择盘点范围。"), "error")
        return redirect(url_for("stocktakes.index"))
    with unit_of_work() as session:
        stocktake_id = inventory.start_stocktake(
            session, actor=current_actor(), village_id=village.id, zone_id=form.zone_id
        ).id
    flash(_("已开始盘点：请清点实物，填写实盘数量。"), "success")
    return redirect(url_for("stocktakes.sheet", stocktake_id=stocktake_id))


@bp.get("/<int:stocktake_id>")
@require(Permission.SHOP_READ)
def sheet(stocktake_id: int):
    """The count sheet: editable while open (for the administrator), the result once confirmed."""
    village = working_village()
    stocktake = inventory.get_stocktake(db.session, village_id=village.id, stocktake_id=stocktake_id)
    rows = inventory.stocktake_rows(db.session, village_id=village.id, stocktake_id=stocktake_id)
    form = CountForm(
        data={"lines": [{"product_id": r.product.id, "counted": r.counted} for r in rows]}, formdata=None
    )
    return _sheet_page(village, stocktake, rows, form)


@bp.post("/<int:stocktake_id>")
@require(Permission.SHOP_WRITE)
def record(stocktake_id: int):
    """Save the counted quantities; "核对差异" then shows what confirming would book."""
    village = working_village()
    stocktake = inventory.get_stocktake(db.session, village_id=village.id, stocktake_id=stocktake_id)
    form = CountForm()
    if form.validate_on_submit():

        def call():
            with unit_of_work() as session:
                return inventory.record_counts(
                    session, village_id=village.id, stocktake_id=stocktake_id, counts=form.counts()
                ).id

        if submit(form, call) is not None:
            if request.form.get("next") == "review":
                return redirect(url_for("stocktakes.review", stocktake_id=stocktake_id))
            flash(_("已保存盘点数量。"), "success")
            return redirect(url_for("stocktakes.sheet", stocktake_id=stocktake_id))
    rows = inventory.stocktake_rows(db.session, village_id=village.id, stocktake_id=stocktake_id)
    return _sheet_page(village, stocktake, rows, form)


@bp.get("/<int:stocktake_id>/review")
@require(Permission.SHOP_READ)
def review(stocktake_id: int):
    """The differences between counted and current stock, as confirming would book them."""
    village = working_village()
    stocktake = inventory.get_stocktake(db.session, village_id=village.id, stocktake_id=stocktake_id)
    if stocktake.status != "open":
        return redirect(url_for("stocktakes.sheet", stocktake_id=stocktake_id))
    rows = inventory.stocktake_rows(db.session, village_id=village.id, stocktake_id=stocktake_id)
    return render_template(
        "stocktakes/review.html",
        village=village,
        stocktake=stocktake,
        zone=_zone_of(village, stocktake),
        differences=[r for r in rows if r.difference],
        uncounted=[r for r in rows if r.counted is None],
        counted=sum(1 for r in rows if r.counted is not None),
        changed_meanwhile=[r for r in rows if r.current != r.expected],
        form=ConfirmForm(),
    )


@bp.post("/<int:stocktake_id>/confirm")
@require(Permission.SHOP_WRITE)
def confirm(stocktake_id: int):
    village = working_village()
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("stocktakes.review", stocktake_id=stocktake_id))
    with unit_of_work() as session:
        adjustments = inventory.confirm_stocktake(
            session, actor=current_actor(), village_id=village.id, stocktake_id=stocktake_id
        )
        count = len(adjustments)
    flash(_("盘点已确认，记入 %(n)d 条盘点调整。", n=count), "success")
    return redirect(url_for("stocktakes.sheet", stocktake_id=stocktake_id))


@bp.get("/<int:stocktake_id>/report")
@require(Permission.SHOP_READ)
def report(stocktake_id: int):
    """The printable stocktake report (A4): every line with book, counted and difference, and signatures."""
    village = working_village()
    stocktake = inventory.get_stocktake(db.session, village_id=village.id, stocktake_id=stocktake_id)
    rows = inventory.stocktake_rows(db.session, village_id=village.id, stocktake_id=stocktake_id)
    return render_template(
        "stocktakes/report.html",
        village=village,
        stocktake=stocktake,
        zone=_zone_of(village, stocktake),
        rows=rows,
        gains=sum((r.adjusted or 0) for r in rows if (r.adjusted or 0) > 0),
        losses=sum((r.adjusted or 0) for r in rows if (r.adjusted or 0) < 0),
    )


def _zone_of(village, stocktake):
    if stocktake.zone_id is None:
        return None
    return inventory.get_zone(db.session, village_id=village.id, zone_id=stocktake.zone_id)


def _sheet_page(village, stocktake, rows, form):
    return render_template(
        "stocktakes/sheet.html",
        village=village,
        stocktake=stocktake,
        zone=_zone_of(village, stocktake),
        rows=rows,
        lines={line.form.product_id.data: line.form for line in form.lines},
        form=form,
    )
