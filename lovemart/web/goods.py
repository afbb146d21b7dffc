"""Goods pages: the catalogue by zone, zones, products and where each product's stock came from, stock-in
other than donations and purchases, write-off (报损), and the low-stock / use-by alert list."""

from dataclasses import dataclass
from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.forms.goods import (
    BLANK_LINES,
    MAX_LINES,
    CorrectionForm,
    ProductFilterForm,
    ProductForm,
    StockInForm,
    WriteOffForm,
    ZoneForm,
)
from lovemart.services import inventory
from lovemart.services.inventory import ProductInput
from lovemart.web.context import working_village
from lovemart.web.forms import perform, submit
from lovemart.web.photos import store_upload

bp = Blueprint("goods", __name__)


@bp.app_template_filter("yuan")
def yuan(fen: int | None) -> str:
    """Fen as yuan with two decimals and thousands separators: 123456 → "1,234.56"."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


@bp.get("/")
@require(Permission.SHOP_READ)
def index():
    village = working_village()
    zones = inventory.zones(db.session, village_id=village.id, include_inactive=True)
    form = ProductFilterForm(request.args, zones=zones)
    form.validate()
    products = inventory.catalogue(
        db.session,
        village_id=village.id,
        zone_id=form.zone_id,
        search=form.q.data or "",
        active_only=form.show.data != "all",
    )
    return render_template(
        "goods/index.html", village=village, form=form, products=products, zones={z.id: z for z in zones}
    )


@bp.get("/alerts")
@require(Permission.SHOP_READ)
def alerts():
    """Products at or below their low-stock threshold, and goods nearing (or past) their use-by date."""
    village = working_village()
    today = inventory.today()
    return render_template(
        "goods/alerts.html",
        village=village,
        low=inventory.low_stock(db.session, village_id=village.id),
        expiring=inventory.expiring(db.session, village_id=village.id, today=today),
        today=today,
        days=inventory.USE_BY_WARNING_DAYS,
    )


@dataclass(frozen=True)
class ShopFlags:
    """What the dashboard flags for the shop: low stock and goods nearing their use-by date."""

    low: list
    expiring: list
    today: date
    days: int

    def __bool__(self) -> bool:
        return bool(self.low or self.expiring)


def shop_flags(village_id: int) -> ShopFlags:
    """For the dashboard (`main.index`): the same lists as the alerts page."""
    return ShopFlags(
        low=inventory.low_stock(db.session, village_id=village_id),
        expiring=inventory.expiring(db.session, village_id=village_id, today=inventory.today()),
        today=inventory.today(),
        days=inventory.USE_BY_WARNING_DAYS,
    )


# ---- zones ---------------------------------------------------------------------------------------------


@bp.get("/zones")
@require(Permission.SHOP_READ)
def zones():
    """The village's zones; the administrator adds one with the form under the list."""
    village = working_village()
    return _zones_page(village, ZoneForm())


@bp.post("/zones")
@require(Permission.SHOP_WRITE)
def create_zone():
    village = working_village()
    form = ZoneForm()
    if form.validate_on_submit():
        if (
            perform(form, inventory.save_zone, village_id=village.id, name=form.name.data, active=True)
            is not None
        ):
            flash(_("已添加分区。"), "success")
            return redirect(url_for("goods.zones"))
    return _zones_page(village, form)


@bp.route("/zones/<int:zone_id>", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def edit_zone(zone_id: int):
    """Rename a zone, or take it out of use (its products stay, new ones cannot be put in it)."""
    village = working_village()
    zone = inventory.get_zone(db.session, village_id=village.id, zone_id=zone_id)
    form = ZoneForm(obj=zone)
    if form.validate_on_submit():
        saved = perform(
            form,
            inventory.save_zone,
            village_id=village.id,
            name=form.name.data,
            zone_id=zone_id,
            active=form.active.data,
        )
        if saved is not None:
            flash(_("已保存分区。"), "success")
            return redirect(url_for("goods.zones"))
    return render_template("goods/zone_form.html", form=form, zone=zone)


def _zones_page(village, form):
    zones = inventory.zones(db.session, village_id=village.id, include_inactive=True)
    counts = {}
    for product in inventory.catalogue(db.session, village_id=village.id, active_only=True):
        counts[product.zone_id] = counts.get(product.zone_id, 0) + 1
    return render_template("goods/zones.html", village=village, zones=zones, counts=counts, form=form)


# ---- products ------------------------------------------------------------------------------------------


@bp.route("/products/new", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def create_product():
    village = working_village()
    zones = inventory.zones(db.session, village_id=village.id)
    form = ProductForm(zones=zones, zone_id=request.args.get("zone", type=int))
    if form.validate_on_submit():

        def call():
            photo = store_upload(village.id, form.photo.data)
            with unit_of_work() as session:
                return inventory.create_product(
                    session, actor=current_actor(), village_id=village.id, data=_product_input(form, photo)
                ).id

        product_id = submit(form, call)
        if product_id is not None:
            flash(_("已添加商品。"), "success")
            return redirect(url_for("goods.product", product_id=product_id))
    return render_template("goods/product_form.html", form=form, product=None)


@bp.get("/products/<int:product_id>")
@require(Permission.SHOP_READ)
def product(product_id: int):
    """A product, its stock, and where that stock came from: every movement with the donation, purchase,
    redemption or stocktake it names."""
    village = working_village()
    item = inventory.get_product(db.session, village_id=village.id, product_id=product_id)
    history = inventory.provenance(db.session, village_id=village.id, product_id=product_id)
    return render_template(
        "goods/product.html",
        village=village,
        product=item,
        zone=inventory.get_zone(db.session, village_id=village.id, zone_id=item.zone_id),
        sources=inventory.stock_in_sources(db.session, village_id=village.id, product_id=product_id),
        history=history,
        receipt_urls={row.movement.id: _receipt_url(row.movement.redemption_id) for row in history},
        correctable=inventory.correctable(db.session, village_id=village.id, product_id=product_id),
    )


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def edit_product(product_id: int):
    village = working_village()
    item = inventory.get_product(db.session, village_id=village.id, product_id=product_id)
    form = ProductForm(
        obj=item, zones=inventory.zones(db.session, village_id=village.id, include_inactive=True)
    )
    if form.validate_on_submit():

        def call():
            photo = store_upload(village.id, form.photo.data) or item.photo
            with unit_of_work() as session:
                return inventory.update_product(
                    session,
                    actor=current_actor(),
                    village_id=village.id,
                    product_id=product_id,
                    data=_product_input(form, photo),
                ).id

        if submit(form, call) is not None:
            flash(_("已保存。"), "success")
            return redirect(url_for("goods.product", product_id=product_id))
    return render_template("goods/product_form.html", form=form, product=item)


@bp.route("/products/<int:product_id>/write-off", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def write_off(product_id: int):
    """报损: damaged or expired goods leave the stock, with a reason; never below zero."""
    village = working_village()
    item = inventory.get_product(db.session, village_id=village.id, product_id=product_id)
    form = WriteOffForm()
    if form.validate_on_submit():

        def call():
            with unit_of_work() as session:
                return inventory.write_off(
                    session,
                    actor=current_actor(),
                    village_id=village.id,
                    product_id=product_id,
                    quantity=form.quantity.data,
                    reason=form.reason.data,
                ).stock_after

        left = submit(form, call)
        if left is not None:
            flash(_("已报损，剩余库存 %(n)d%(unit)s。", n=left, unit=item.unit), "success")
            return redirect(url_for("goods.product", product_id=product_id))
    return render_template("goods/write_off.html", form=form, product=item)


@bp.route("/movements/<int:movement_id>/correct", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def correct_stock_in(movement_id: int):
    """更正入库: a stock-in typed wrong is put right on its day by a correction movement naming it (not a
    write-off posing as damage); the stock-in itself stays as it was booked."""
    village = working_village()
    movement = inventory.get_movement(db.session, village_id=village.id, movement_id=movement_id)
    item = inventory.get_product(db.session, village_id=village.id, product_id=movement.product_id)
    counted = inventory.correctable(db.session, village_id=village.id, product_id=item.id).get(movement.id)
    form = CorrectionForm()
    if form.validate_on_submit():

        def call():
            with unit_of_work() as session:
                return inventory.correct_stock_in(
                    session,
                    actor=current_actor(),
                    village_id=village.id,
                    movement_id=movement_id,
                    quantity=form.quantity.data,
                    reason=form.reason.data,
                ).stock_after

        left = submit(form, call)
        if left is not None:
            message = _("已更正入库：实收 %(n)d%(unit)s，现有库存 %(left)d%(unit)s。")
            flash(message % {"n": form.quantity.data, "unit": item.unit, "left": left}, "success")
            return redirect(url_for("goods.product", product_id=item.id))
    return render_template("goods/correct.html", form=form, product=item, movement=movement, counted=counted)


# ---- stock-in ------------------------------------------------------------------------------------------


@bp.route("/stock-in", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def stock_in():
    """进货 whose source is neither a donation nor a purchase (opening stock, goods transferred in); those two
    have their own forms so that the goods stay traceable to the donor or the fund."""
    village = working_village()
    zones = inventory.zones(db.session, village_id=village.id, include_inactive=True)
    products = inventory.catalogue(db.session, village_id=village.id)
    if request.method == "POST":
        form = StockInForm()
    else:
        form = StockInForm(data={"lines": _blank_lines(request.args.get("product", type=int))})
    form.set_product_choices(products, zones)
    if form.validate_on_submit():

        def call():
            with unit_of_work() as session:
                return len(
                    inventory.stock_in(
                        session,
                        actor=current_actor(),
                        village_id=village.id,
                        lines=form.stock_in_lines(),
                        note=form.note.data,
                    )
                )

        count = submit(form, call)
        if count is not None:
            flash(_("已入库 %(n)d 种商品。数量如有差错，当天可在商品页“更正”。", n=count), "success")
            return redirect(url_for("goods.index"))
    return render_template("goods/stock_in.html", form=form, more_url=more_lines_url(form))


def blank_lines(count: int | None = None, product_id: int | None = None) -> list[dict]:
    """Initial data for a goods-lines form: `count` empty lines, the first naming `product_id` if given."""
    count = min(max(count or BLANK_LINES, 1), MAX_LINES)
    lines = [{} for _ in range(count)]
    if product_id is not None:
        lines[0] = {"product_id": str(product_id)}
    return lines


def _blank_lines(product_id: int | None = None) -> list[dict]:
    return blank_lines(request.args.get("lines", type=int), product_id)


def more_lines_url(form) -> str | None:
    """The same page with more blank lines (phones without JavaScript still get as many as they need)."""
    count = len(form.lines) + BLANK_LINES
    if count > MAX_LINES:
        return None
    return url_for(request.endpoint, **{**request.view_args, **request.args.to_dict(), "lines": count})


def _product_input(form, photo: str | None) -> ProductInput:
    return ProductInput(
        name=form.name.data,
        zone_id=form.zone_id.data,
        unit=form.unit.data,
        points_price=form.points_price.data,
        barcode=form.barcode.data or None,
        low_stock=form.low_stock.data,
        photo=photo,
        active=form.active.data,
    )


def _receipt_url(redemption_id: int | None) -> str | None:
    """The counter's receipt page of a redemption, when the counter offers one."""
    if redemption_id is None or "counter.receipt" not in current_app.view_functions:
        return None
    try:
        return url_for("counter.receipt", redemption_id=redemption_id)
    except BuildError:
        return None
