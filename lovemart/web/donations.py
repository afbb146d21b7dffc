"""Donor and fund pages: donors, donations of goods (→ stock-in) and of money (→ a fund), the printable
捐赠凭证, what each donation became, funds with their balances and movements, funding and purchases.

Forms that create a donation or a purchase carry a request key made when the page is shown: submitting
the same page twice (a double click, a retried POST) records once and leads to the same record.
"""

import secrets

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from lovemart.authz import Permission, require
from lovemart.db import db
from lovemart.forms.donations import (
    DonorForm,
    FundForm,
    FundingForm,
    GoodsDonationForm,
    MoneyDonationForm,
    PurchaseForm,
)
from lovemart.models.donations import FundKind
from lovemart.services import donations, inventory
from lovemart.web.context import working_village
from lovemart.web.forms import perform
from lovemart.web.goods import blank_lines, more_lines_url

bp = Blueprint("donations", __name__)


def _new_key() -> str:
    return secrets.token_urlsafe(24)


# ---- donations -----------------------------------------------------------------------------------------


@bp.get("/")
@require(Permission.SHOP_READ)
def index():
    village = working_village()
    page = donations.donation_list(
        db.session, village_id=village.id, page=request.args.get("page", 1, type=int), per_page=30
    )
    return render_template("donations/index.html", village=village, page=page)


@bp.route("/goods/new", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def receive_goods():
    """A donation of goods: each line becomes a stock-in naming the donation."""
    village = working_village()
    donors = donations.donors(db.session, village_id=village.id)
    form = _lines_form(GoodsDonationForm, village, source="donor", date_field="received_on", donors=donors)
    if form.validate_on_submit():
        outcome = perform(
            form,
            donations.receive_goods,
            village_id=village.id,
            donor_id=int(form.donor_id.data),
            received_on=form.received_on.data,
            lines=form.stock_in_lines(),
            note=form.note.data or "",
            request_key=form.request_key.data,
        )
        if outcome is not None:
            flash(_("已记录捐赠，物资已入库。可以打印捐赠凭证。"), "success")
            return redirect(url_for("donations.detail", donation_id=outcome.donation.id))
    return render_template(
        "donations/goods_form.html", form=form, donors=donors, more_url=more_lines_url(form)
    )


@bp.route("/money/new", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def receive_money():
    """A donation of money, credited to one of the village's funds (by default a 社会捐赠 fund)."""
    village = working_village()
    donors = donations.donors(db.session, village_id=village.id)
    funds = donations.funds(db.session, village_id=village.id)
    if request.method == "POST":
        form = MoneyDonationForm(donors=donors, funds=funds)
    else:
        social = next((f for f in funds if f.kind == FundKind.SOCIAL.value), None)
        form = MoneyDonationForm(
            donors=donors,
            funds=funds,
            data={
                "donor_id": request.args.get("donor", ""),
                "fund_id": str(social.id) if social else "",
                "received_on": inventory.today(),
                "request_key": _new_key(),
            },
        )
    if form.validate_on_submit():
        donation = perform(
            form,
            donations.receive_money,
            village_id=village.id,
            donor_id=int(form.donor_id.data),
            fund_id=int(form.fund_id.data),
            amount_fen=form.amount.fen,
            received_on=form.received_on.data,
            note=form.note.data or "",
            request_key=form.request_key.data,
        )
        if donation is not None:
            flash(_("已记录捐款，已存入资金。可以打印捐赠凭证。"), "success")
            return redirect(url_for("donations.detail", donation_id=donation.id))
    return render_template("donations/money_form.html", form=form, donors=donors, funds=funds)


@bp.get("/<int:donation_id>")
@require(Permission.SHOP_READ)
def detail(donation_id: int):
    """A donation and what it became: the stock-ins of its goods, or the fund its money went into."""
    village = working_village()
    donation = donations.get_donation(db.session, village_id=village.id, donation_id=donation_id)
    return render_template(
        "donations/detail.html",
        village=village,
        donation=donation,
        donor=donations.get_donor(db.session, village_id=village.id, donor_id=donation.donor_id),
        lines=donations.goods_lines(db.session, village_id=village.id, donation_id=donation_id),
        income=donations.donation_income(db.session, village_id=village.id, donation_id=donation_id),
    )


@bp.get("/<int:donation_id>/certificate")
@require(Permission.SHOP_READ)
def certificate(donation_id: int):
    """捐赠凭证: the A4 thank-you certificate handed to the donor."""
    village = working_village()
    donation = donations.get_donation(db.session, village_id=village.id, donation_id=donation_id)
    return render_template(
        "donations/certificate.html",
        village=village,
        donation=donation,
        donor=donations.get_donor(db.session, village_id=village.id, donor_id=donation.donor_id),
        lines=donations.goods_lines(db.session, village_id=village.id, donation_id=donation_id),
        amount_words=donations.amount_in_words(donation.amount_fen) if donation.amount_fen else None,
    )


# ---- donors --------------------------------------------------------------------------------------------


@bp.get("/donors")
@require(Permission.SHOP_READ)
def donors():
    village = working_village()
    return render_template(
        "donations/donors.html", village=village, donors=donations.donors(db.session, village_id=village.id)
    )


@bp.route("/donors/new", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def create_donor():
    village = working_village()
    form = DonorForm()
    if form.validate_on_submit():
        saved = perform(form, donations.save_donor, village_id=village.id, **_donor(form))
        if saved is not None:
            flash(_("已添加捐赠方。"), "success")
            then = request.args.get("then")
            if then in ("goods", "money"):
                return redirect(url_for(f"donations.receive_{then}", donor=saved.id))
            return redirect(url_for("donations.donor", donor_id=saved.id))
    return render_template("donations/donor_form.html", form=form, donor=None)


@bp.get("/donors/<int:donor_id>")
@require(Permission.SHOP_READ)
def donor(donor_id: int):
    village = working_village()
    found = donations.get_donor(db.session, village_id=village.id, donor_id=donor_id)
    page = donations.donation_list(db.session, village_id=village.id, donor_id=donor_id, per_page=200)
    return render_template("donations/donor.html", village=village, donor=found, page=page)


@bp.route("/donors/<int:donor_id>/edit", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def edit_donor(donor_id: int):
    village = working_village()
    found = donations.get_donor(db.session, village_id=village.id, donor_id=donor_id)
    form = DonorForm(obj=found)
    if form.validate_on_submit():
        if perform(form, donations.save_donor, village_id=village.id, donor_id=donor_id, **_donor(form)):
            flash(_("已保存。"), "success")
            return redirect(url_for("donations.donor", donor_id=donor_id))
    return render_template("donations/donor_form.html", form=form, donor=found)


# ---- funds ---------------------------------------------------------------------------------------------


@bp.get("/funds")
@require(Permission.SHOP_READ)
def funds():
    village = working_village()
    rows = donations.funds(db.session, village_id=village.id)
    return render_template(
        "donations/funds.html", village=village, funds=rows, total=sum(f.balance_fen for f in rows)
    )


@bp.route("/funds/new", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def create_fund():
    village = working_village()
    form = FundForm()
    if form.validate_on_submit():
        created = perform(
            form, donations.create_fund, village_id=village.id, name=form.name.data, kind=form.kind.data
        )
        if created is not None:
            flash(_("已添加资金。"), "success")
            return redirect(url_for("donations.fund", fund_id=created.id))
    return render_template("donations/fund_form.html", form=form)


@bp.get("/funds/<int:fund_id>")
@require(Permission.SHOP_READ)
def fund(fund_id: int):
    """A fund's balance and its movements (income, purchases), each linked to its donation or purchase."""
    village = working_village()
    found = donations.get_fund(db.session, village_id=village.id, fund_id=fund_id)
    return render_template(
        "donations/fund.html",
        village=village,
        fund=found,
        movements=donations.fund_movements(db.session, village_id=village.id, fund_id=fund_id),
    )


@bp.route("/funds/<int:fund_id>/add", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def add_funding(fund_id: int):
    """Money allocated to the fund by its source (扶贫局资助, 民政补贴, 村集体)."""
    village = working_village()
    found = donations.get_fund(db.session, village_id=village.id, fund_id=fund_id)
    form = FundingForm()
    if form.validate_on_submit():
        movement = perform(
            form,
            donations.add_funding,
            village_id=village.id,
            fund_id=fund_id,
            amount_fen=form.amount.fen,
            note=form.note.data,
        )
        if movement is not None:
            flash(_("已入账，余额 %(yuan)s 元。", yuan=donations.yuan(movement.balance_after_fen)), "success")
            return redirect(url_for("donations.fund", fund_id=fund_id))
    return render_template("donations/funding_form.html", form=form, fund=found)


# ---- purchases -----------------------------------------------------------------------------------------


@bp.get("/purchases")
@require(Permission.SHOP_READ)
def purchases():
    village = working_village()
    return render_template(
        "donations/purchases.html",
        village=village,
        rows=donations.purchases(db.session, village_id=village.id),
    )


@bp.route("/purchases/new", methods=["GET", "POST"])
@require(Permission.SHOP_WRITE)
def create_purchase():
    """Goods bought with a fund's money: the fund pays the lines' total, the goods come into stock."""
    village = working_village()
    funds = donations.funds(db.session, village_id=village.id)
    form = _lines_form(PurchaseForm, village, source="fund", date_field="bought_on", funds=funds)
    if form.validate_on_submit():
        bought = perform(
            form,
            donations.purchase,
            village_id=village.id,
            fund_id=int(form.fund_id.data),
            bought_on=form.bought_on.data,
            lines=form.stock_in_lines(),
            supplier=form.supplier.data or "",
            note=form.note.data or "",
            request_key=form.request_key.data,
        )
        if bought is not None:
            flash(_("已记录采购，物资已入库。"), "success")
            return redirect(url_for("donations.purchase", purchase_id=bought.id))
    return render_template(
        "donations/purchase_form.html", form=form, funds=funds, more_url=more_lines_url(form)
    )


@bp.get("/purchases/<int:purchase_id>")
@require(Permission.SHOP_READ)
def purchase(purchase_id: int):
    village = working_village()
    found = donations.get_purchase(db.session, village_id=village.id, purchase_id=purchase_id)
    return render_template(
        "donations/purchase.html",
        village=village,
        purchase=found,
        fund=donations.get_fund(db.session, village_id=village.id, fund_id=found.fund_id),
        lines=donations.goods_lines(db.session, village_id=village.id, purchase_id=purchase_id),
    )


def _donor(form) -> dict:
    return {
        "name": form.name.data,
        "kind": form.kind.data,
        "contact": form.contact.data or "",
        "phone": form.phone.data or "",
    }


def _lines_form(form_class, village, *, source: str, date_field: str, **choices):
    """A form of goods lines (donation or purchase). A new one is prefilled from the query string
    (`?donor=`/`?fund=`, `?product=`, `?lines=`) and gets a fresh request key against double submits."""
    if request.method == "POST":
        form = form_class(**choices)
    else:
        form = form_class(
            **choices,
            data={
                f"{source}_id": request.args.get(source, ""),
                date_field: inventory.today(),
                "request_key": _new_key(),
                "lines": blank_lines(
                    request.args.get("lines", type=int), request.args.get("product", type=int)
                ),
            },
        )
    form.set_product_choices(
        inventory.catalogue(db.session, village_id=village.id),
        inventory.zones(db.session, village_id=village.id, include_inactive=True),
    )
    return form
