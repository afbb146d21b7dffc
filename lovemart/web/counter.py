"""The counter (收银台), the administrator's main screen: scan a card, build the cart, confirm a redemption,
print the receipt (58 mm or A4), and take goods back (退货).

Everything is server-rendered and works without JavaScript; static/js/counter.js only makes it quicker (the
scan field keeps the focus, tiles add to the cart, a running total, camera scanning, one submit per click).
There are no JSON endpoints here, so refusals reach the cashier in two ways only: a refused scan is the scan
field's message (the form's validator asks the card lookups), and a refused confirm or return is put on its
form by `lovemart.web.forms.submit` and the page is rendered again with the cart as it was typed. 404 and 403
go through `lovemart.web.errors` like everywhere else.

Idempotency: the cart form carries a fresh random key; a double click, a reload of the POST or a network retry
sends the same key and gets the first redemption's receipt. A refused confirm is shown with a new key, which
is safe because a refusal stored nothing under the old one. A key already used by a different cart is an old
page confirmed again (the browser's Back, a second tab): the cadre gets a page that says so in plain words,
names the receipt that key made, and offers 重新开始 (a fresh counter for the same card).

Old pages: every counter answer is `Cache-Control: no-store`, so the browser's Back asks the server again
instead of showing the balance and stock of before (and counter.js reloads a page that Chromium's back/forward
cache restores anyway). The cart form also carries what the page showed (`seen`: the balance, each product's
price and stock); a confirm from a page that no longer tells the truth redeems nothing and goes back to the
card page with the current state and the cart lines that are still possible.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.forms.counter import (
    CancelForm,
    CartForm,
    ScanForm,
    cart_text,
    new_idempotency_key,
    parse_cart,
    parse_seen,
    quantities_typed,
    seen_text,
)
from lovemart.models import Card, PointsAccount, Redemption, RedemptionLine, Village
from lovemart.services import cards, inventory, points, redemptions
from lovemart.services.errors import CartOutdated, DomainError, IdempotencyConflict
from lovemart.services.points import VILLAGE_TIMEZONE, HouseholdLabel
from lovemart.services.redemptions import MAX_QUANTITY
from lovemart.web.context import working_village
from lovemart.web.forms import perform, submit

bp = Blueprint("counter", __name__)


@bp.after_request
def _never_stored(response):
    """No counter answer is kept by the browser: Back must show today's balance and stock, not a copy. (In
    Chromium no-store also keeps a page out of the back/forward cache, in most cases; counter.js reloads it
    in the others.)"""
    response.headers["Cache-Control"] = "no-store"
    return response


#: How many of the latest redemptions the counter looks at for its list of today's sales.
TODAY_LIST = 20


@dataclass(frozen=True)
class Customer:
    """The scanned card, its household and account, as the counter shows them."""

    card: Card
    household: HouseholdLabel
    account: PointsAccount
    #: Spendable, and held 公示中 / 待审核 beside it, as the villager's page shows them.
    balance: points.Balance

    @property
    def problem(self) -> str | None:
        """Why this card cannot redeem now (`points.ensure_usable`), in words for the cashier; None when it
        can."""
        try:
            points.ensure_usable(
                card_status=self.card.status,
                household_active=self.household.active,
                account_status=self.account.status,
            )
        except DomainError as refusal:
            return refusal.message
        return None


@dataclass(frozen=True)
class Receipt:
    """Everything a receipt shows, with times already in the villages' zone (Asia/Shanghai)."""

    village: Village
    redemption: Redemption
    lines: list[RedemptionLine]
    card_number: str
    household: HouseholdLabel
    operator: str
    cancelled_by: str
    #: The account's points as the receipt is printed: what is held 公示中 or 待审核 beside the balance.
    balance: points.Balance

    @property
    def cancelled(self) -> bool:
        return self.redemption.status == "cancelled"

    @property
    def time(self) -> datetime:
        return self.redemption.created_at.astimezone(VILLAGE_TIMEZONE)

    @property
    def cancelled_time(self) -> datetime | None:
        at = self.redemption.cancelled_at
        return at.astimezone(VILLAGE_TIMEZONE) if at else None


@bp.get("/")
@require(Permission.REDEMPTION_WRITE)
def index():
    """The waiting counter: the scan field, goods near their use-by date and today's redemptions."""
    village = working_village()
    return _counter_page(village, ScanForm())


@bp.post("/scan")
@require(Permission.REDEMPTION_WRITE)
def scan():
    """A scanned QR URL or a typed card number → the customer's counter page (or why not, by the field)."""
    village = working_village()
    form = ScanForm(
        find_token=lambda token: _card_of_village(cards.by_token(db.session, token), village.id),
        find_number=lambda number: cards.by_number(db.session, village_id=village.id, number=number),
    )
    if form.validate_on_submit():
        return redirect(url_for("counter.customer", card_id=form.card.id), 303)
    return _counter_page(village, form), form.refusal_status


@bp.get("/cards/<int:card_id>")
@require(Permission.REDEMPTION_WRITE)
def customer(card_id: int):
    """The customer's counter page: household, balance, the goods by zone and an empty cart with a new key."""
    village = working_village()
    cart_form = CartForm(idempotency_key=new_idempotency_key())
    search = (request.args.get("q") or "").strip()[:64]
    carried = parse_cart(request.args.get("cart"))
    return _counter_page(
        village, ScanForm(), card_id=card_id, cart_form=cart_form, search=search, carried=carried
    )


@bp.post("/cards/<int:card_id>/redeem")
@require(Permission.REDEMPTION_WRITE)
def redeem(card_id: int):
    """Confirm: one transaction, or nothing and the reason beside the cart as it was typed."""
    village = working_village()
    form = CartForm()
    status = 422
    if form.validate_on_submit():

        def call():
            with unit_of_work() as session:
                card = cards.get(session, village_id=village.id, card_id=card_id)
                return redemptions.redeem(
                    session,
                    actor=current_actor(),
                    village_id=village.id,
                    card_number=card.number,
                    lines=form.lines,
                    idempotency_key=form.idempotency_key.data,
                    seen=parse_seen(form.seen.data),
                ).id

        # An old page is answered by the handlers below, not beside the cart.
        redemption_id = submit(form, call, raising=(CartOutdated, IdempotencyConflict))
        if redemption_id is not None:
            return redirect(url_for("counter.receipt", redemption_id=redemption_id), 303)
        status = 409
    form.idempotency_key.data = new_idempotency_key()
    return _counter_page(village, ScanForm(), card_id=card_id, cart_form=form), status


@bp.errorhandler(CartOutdated)
def _outdated(_error: CartOutdated):
    """The confirm came from a page whose balance or stock is no longer true: nothing was redeemed; the
    card page again, as it is now, with the cart the cadre chose (lines no longer possible are left out, and
    said)."""
    card_id = request.view_args["card_id"]
    flash(_("余额或库存已变化，已按最新情况刷新，请核对后再确认。"), "error")
    typed = quantities_typed(request.form)
    cart = {product_id: int(q) for product_id, q in typed.items() if q.isdigit() and int(q) > 0}
    return redirect(url_for("counter.customer", card_id=card_id, cart=cart_text(cart) or None), 303)


@bp.errorhandler(IdempotencyConflict)
def _old_page(error: IdempotencyConflict):
    """The key of this confirm already made a redemption with another cart: the page was an old one. Say so,
    name that receipt, and offer a fresh counter for the card."""
    card_id = request.view_args["card_id"]
    return render_template("counter/old_page.html", first=error.first, card_id=card_id), 409


@bp.get("/receipts/")
@require(Permission.SHOP_READ)
def receipts():
    """The village's latest redemptions, for everyone who may read the shop (the supervisor checks them)."""
    village = working_village()
    latest = redemptions.latest(db.session, village_id=village.id, limit=50)
    return render_template("counter/receipts.html", village=village, rows=_rows(village, latest))


@bp.get("/receipts/<int:redemption_id>")
@require(Permission.SHOP_READ)
def receipt(redemption_id: int):
    """The receipt, on 58 mm thermal paper (default) or A4 (`?paper=a4`)."""
    village = working_village()
    paper = "a4" if request.args.get("paper") == "a4" else "58"
    return render_template("counter/receipt.html", receipt=_receipt(village, redemption_id), paper=paper)


@bp.route("/receipts/<int:redemption_id>/cancel", methods=["GET", "POST"])
@require(Permission.REDEMPTION_WRITE)
def cancel(redemption_id: int):
    """退货: a reason, then reversal entries give the points and the goods back; the original stays."""
    village = working_village()
    form = CancelForm()
    status = 200
    if form.validate_on_submit():
        cancelled = perform(
            form,
            redemptions.cancel,
            village_id=village.id,
            redemption_id=redemption_id,
            reason=form.reason.data,
        )
        if cancelled is not None:
            flash(_("已退货：积分和库存都已退回，原兑换记录保留在账上。"), "success")
            return redirect(url_for("counter.receipt", redemption_id=redemption_id), 303)
        status = 409
    elif form.is_submitted():
        status = 422
    return render_template("counter/cancel.html", receipt=_receipt(village, redemption_id), form=form), status


# ---- reading for the pages -------------------------------------------------------------------------------


def _counter_page(
    village: Village,
    scan_form: ScanForm,
    *,
    card_id: int | None = None,
    cart_form: CartForm | None = None,
    search: str = "",
    carried: dict[int, int] | None = None,
):
    """The counter, and with `card_id` the customer's page. `carried`: a cart brought back from a confirm
    that came too late (`?cart=`): the lines still possible go into the cart, the others are named."""
    today = datetime.now(VILLAGE_TIMEZONE).date()
    expiring = inventory.expiring(db.session, village_id=village.id, today=today)
    latest = redemptions.latest(db.session, village_id=village.id, limit=TODAY_LIST)
    todays = [r for r in latest if r.created_at.astimezone(VILLAGE_TIMEZONE).date() == today]
    values = {
        "village": village,
        "scan_form": scan_form,
        "expiring": [(product, use_by, (use_by - today).days) for product, use_by in expiring],
        "today_rows": _rows(village, todays),
        "warning_days": inventory.USE_BY_WARNING_DAYS,
        "customer": None,
    }
    if card_id is not None:
        card = cards.get(db.session, village_id=village.id, card_id=card_id)
        account = points.account_for_household(
            db.session, village_id=village.id, household_id=card.household_id
        )
        labels = points.household_labels(db.session, village_id=village.id, account_ids=[account.id])
        products = inventory.catalogue(db.session, village_id=village.id, search=search)
        by_zone: dict[int, list] = {}
        for product in products:
            by_zone.setdefault(product.zone_id, []).append(product)
        all_zones = inventory.zones(db.session, village_id=village.id, include_inactive=True)
        zones = [z for z in all_zones if z.id in by_zone]
        by_id = {p.id: p for p in products}
        if carried:
            _carry(cart_form, carried, by_id)
        cart = cart_form.cart if cart_form is not None else {}
        # What this page shows, for the confirm to compare (always the state read now, also on a refusal).
        cart_form.seen.data = seen_text(account.balance, products)
        cart_lines = [
            (by_id[pid], int(typed))
            for pid, typed in sorted(cart.items())
            if pid in by_id and typed.isdigit() and 0 < int(typed) <= MAX_QUANTITY
        ]
        values |= {
            "customer": Customer(
                card=card,
                household=labels[account.id],
                account=account,
                balance=points.balance_of(db.session, village_id=village.id, account_id=account.id),
            ),
            "cart_form": cart_form,
            "cart": cart,
            "cart_lines": cart_lines,
            "cart_total": sum(product.points_price * quantity for product, quantity in cart_lines),
            "zones": zones,
            "by_zone": by_zone,
            "expiring_ids": {product.id for product, _use_by in expiring},
            "search": search,
        }
    values["fresh_url"] = (
        request.full_path.rstrip("?")
        if request.method == "GET"
        else url_for("counter.customer", card_id=card_id)
        if card_id is not None
        else url_for("counter.index")
    )
    return render_template("counter/index.html", **values)


def _carry(cart_form: CartForm, carried: dict[int, int], by_id: dict) -> None:
    """Put the carried lines that are still possible into the cart; say why each other one was left out."""
    for product_id, quantity in sorted(carried.items()):
        product = by_id.get(product_id)
        if product is None:
            cart_form.form_errors.append(_("有一件商品已下架，已从购物车去掉。"))
        elif quantity > product.stock:
            message = _("“%(name)s”现在只剩 %(left)d%(unit)s，已从购物车去掉，请重新选择数量。")
            cart_form.form_errors.append(
                message % {"name": product.name, "left": max(product.stock, 0), "unit": product.unit}
            )
        else:
            cart_form.cart[product_id] = str(quantity)


def _card_of_village(card: Card | None, village_id: int) -> Card | None:
    """A card found by its token counts only in the working village (another village's is unknown here)."""
    return card if card is not None and card.village_id == village_id else None


@dataclass(frozen=True)
class ReceiptRow:
    redemption: Redemption
    household: HouseholdLabel | None
    time: datetime


def _rows(village: Village, latest: list[Redemption]) -> list[ReceiptRow]:
    account_ids = {r.account_id for r in latest}
    labels = points.household_labels(db.session, village_id=village.id, account_ids=account_ids)
    return [
        ReceiptRow(r, labels.get(r.account_id), r.created_at.astimezone(VILLAGE_TIMEZONE)) for r in latest
    ]


def _receipt(village: Village, redemption_id: int) -> Receipt:
    """:raise NotFound: for an unknown redemption or another village's (a 404 that reveals nothing)."""
    redemption = redemptions.get(db.session, village_id=village.id, redemption_id=redemption_id)
    card = cards.get(db.session, village_id=village.id, card_id=redemption.card_id)
    label = points.household_labels(db.session, village_id=village.id, account_ids=[redemption.account_id])
    names = points.user_names(db.session, {redemption.recorded_by_id, redemption.cancelled_by_id})
    return Receipt(
        village=village,
        redemption=redemption,
        lines=redemptions.lines_of(db.session, redemption.id),
        card_number=card.number,
        household=label[redemption.account_id],
        operator=names[redemption.recorded_by_id],
        cancelled_by=names[redemption.cancelled_by_id],
        balance=points.balance_of(db.session, village_id=village.id, account_id=redemption.account_id),
    )
