"""Counter forms: the scan field (a card's QR URL or its printed number), the cart with its idempotency key,
and the reason of a return (退货).

The forms check shape; `services/redemptions.py` checks the law (balance, stock, card status) again.
"""

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import request
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from lovemart.forms.base import LoveMartForm
from lovemart.services.errors import CardNotActive, DomainError, NotFound, OutOfStock
from lovemart.services.redemptions import MAX_LINES, MAX_QUANTITY, CartLine, Seen

#: The path of a villager's page inside the URL a card's QR code carries: …/c/<token>[/…][?…]
_CARD_URL = re.compile(r"/c/([A-Za-z0-9_-]{16,64})(?:[/?#]|$)")
#: A printed card number: the village prefix and a serial, e.g. A00012 (case and spaces forgiven).
_CARD_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")
#: Quantity inputs of the cart are named q-<product id>.
_QUANTITY_NAME = re.compile(r"q-(\d{1,12})")
#: What the page showed (`seen_text`): "<balance>;<id>:<price>:<stock>,…"
_SEEN = re.compile(r"(-?\d{1,12});((?:\d{1,12}:\d{1,12}:-?\d{1,12})(?:,\d{1,12}:\d{1,12}:-?\d{1,12})*)?")
#: A cart carried back to the card page (`cart_text`): "<id>:<quantity>,…"
_CART = re.compile(rf"\d{{1,12}}:\d{{1,3}}(?:,\d{{1,12}}:\d{{1,3}}){{0,{MAX_LINES - 1}}}")
#: A whole number as typed (full-width digits too: a Chinese input method may give them).
_WHOLE = re.compile(r"[+-]?\d+")


def new_idempotency_key() -> str:
    """A fresh key for one confirm: rendered with the cart, sent back with every retry of that confirm."""
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Scan:
    """What the scanner (or the cashier's keyboard) produced: a card token from a QR URL, or a card number."""

    token: str | None = None
    number: str | None = None


def parse_scan(text: str) -> Scan | None:
    """A QR URL (…/c/<token>, any host: the counter PC may reach the server by another name) or a number."""
    text = (text or "").strip()
    if match := _CARD_URL.search(text):
        return Scan(token=match.group(1))
    compact = text.replace(" ", "")
    if _CARD_NUMBER.fullmatch(compact):
        return Scan(number=compact.upper())
    return None


class ScanForm(LoveMartForm):
    """One field a USB/Bluetooth scanner types into, then Enter. `find_token` and `find_number` are the card
    lookups of the working village; a refusal becomes the field's message and `refusal_status`."""

    scan = StringField(
        _l("刷卡或输入卡号"),
        validators=[DataRequired(message=_l("请刷卡（扫描积分卡二维码）或输入卡号。")), Length(max=300)],
    )

    def __init__(self, *args, find_token: Callable | None = None, find_number: Callable | None = None, **kw):
        super().__init__(*args, **kw)
        self._find_token, self._find_number = find_token, find_number
        self.card = None
        self.refusal_status = 422

    def validate_scan(self, field) -> None:
        scan = parse_scan(field.data)
        if scan is None:
            raise ValidationError(_l("无法识别：请扫描积分卡上的二维码，或输入卡上印的卡号。"))
        if scan.token is not None:
            self.card = self._find_token(scan.token)
            if self.card is None:
                self.refusal_status = 404
                raise ValidationError(_l("这张积分卡的二维码无效：可能已挂失或回收，或不是本村的卡。"))
            return
        try:
            self.card = self._find_number(scan.number)
        except NotFound:
            self.refusal_status = 404
            message = _l("本村没有卡号为 %(number)s 的积分卡。")
            raise ValidationError(message % {"number": scan.number}) from None
        except CardNotActive:
            self.refusal_status = 409
            message = _l("卡号 %(number)s 已挂失或已回收，不能使用。挂失的请用补发的新卡。")
            raise ValidationError(message % {"number": scan.number}) from None
        except DomainError as error:
            self.refusal_status = error.status
            raise ValidationError(error.message) from None


def seen_text(balance: int, products) -> str:
    """The `seen` field's value: the balance and each product's (id, price, stock) as the page shows them."""
    goods = ",".join(f"{p.id}:{p.points_price}:{p.stock}" for p in products)
    return f"{balance};{goods}"


def parse_seen(text: str | None) -> Seen | None:
    """The `seen` field back; None when it is missing or malformed (the confirm is then not compared)."""
    match = _SEEN.fullmatch((text or "").strip())
    if match is None:
        return None
    goods = {}
    for item in filter(None, (match.group(2) or "").split(",")):
        product_id, price, stock = map(int, item.split(":"))
        goods[product_id] = (price, stock)
    return Seen(balance=int(match.group(1)), goods=goods)


def cart_text(cart: Mapping[int, int]) -> str:
    """A cart for a URL: `?cart=<id>:<quantity>,…`, so a refreshed card page starts with it."""
    return ",".join(f"{product_id}:{quantity}" for product_id, quantity in sorted(cart.items()))


def parse_cart(text: str | None) -> dict[int, int]:
    """`cart_text` back ({product id: quantity}); empty when malformed."""
    text = (text or "").strip()
    if not _CART.fullmatch(text):
        return {}
    cart = {}
    for item in text.split(","):
        product_id, quantity = map(int, item.split(":"))
        if quantity > 0:
            cart[product_id] = quantity
    return cart


class CartForm(LoveMartForm):
    """The cart: one quantity input per product (`q-<id>`, empty or 0 = not taken), this confirm's key and
    what the page showed when it was built (`seen`, see `seen_text`).

    `cart` keeps what was typed, so a refused confirm shows the cart exactly as it was; `lines` is the
    parsed cart for the service. A quantity that is not a whole number, is negative, too big or more than
    the stock left is refused beside its own product (`line_errors`, product id → message), never taken
    as something else (2.5 is not 2, −1 is not "none"). The hidden fields are `autocomplete="off"`: a page
    that the browser loads again from its history must not get the old key and the old state back (Chromium
    restores form fields)."""

    idempotency_key = HiddenField(
        validators=[DataRequired(message=_l("缺少请求编号，请刷新页面后重试。")), Length(max=80)],
        render_kw={"autocomplete": "off"},
    )
    seen = HiddenField(render_kw={"autocomplete": "off"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        raw = request.form if self.is_submitted() else {}
        self.cart: dict[int, str] = quantities_typed(raw)
        self.lines: list[CartLine] = []
        self.line_errors: dict[int, str] = {}

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        lines = []
        for product_id, typed in sorted(self.cart.items()):
            if problem := quantity_problem(typed):
                self.line_errors[product_id] = problem
            elif int(typed) > 0:
                lines.append(CartLine(product_id, int(typed)))
        if self.line_errors:
            self.form_errors.append(_l("请修改标红的商品数量。"))
            return False
        if not lines:
            self.form_errors.append(_l("购物车是空的：请先点选商品或填写数量。"))
            return False
        if len(lines) > MAX_LINES:
            self.form_errors.append(_l("一次最多兑换 %(n)d 种商品。") % {"n": MAX_LINES})
            return False
        self.lines = lines
        return valid

    def take_refusal(self, error: DomainError) -> bool:
        """`lovemart.web.forms.submit`'s hook: too little stock of one product is said beside that product."""
        product_id = getattr(error, "product_id", None)
        if isinstance(error, OutOfStock) and product_id in self.cart:
            self.line_errors[product_id] = error.message
            self.form_errors.append(_l("请修改标红的商品数量。"))
            return True
        return False

    def all_errors(self) -> list[str]:
        """Every message of the form in one list (the key is a hidden field: its errors go with the rest)."""
        return [*map(str, self.form_errors), *(str(e) for e in self.idempotency_key.errors)]


def quantity_problem(typed: str) -> str | None:
    """Why a typed cart quantity cannot be taken, or None (0 and blank mean "not taken")."""
    if not _WHOLE.fullmatch(typed):
        return str(_l("请输入整数。"))
    if typed.startswith("-") and typed.strip("-0"):
        return str(_l("数量不能为负数。"))
    if len(typed.lstrip("+-")) > 6 or int(typed) > MAX_QUANTITY:
        return str(_l("一次最多兑换 %(n)d 件。") % {"n": MAX_QUANTITY})
    return None


def quantities_typed(formdata: Mapping) -> dict[int, str]:
    """{product id: what was typed} for every non-empty `q-<id>` input."""
    typed = {}
    for name in formdata:
        if (match := _QUANTITY_NAME.fullmatch(name)) and (value := (formdata.get(name) or "").strip()):
            typed[int(match.group(1))] = value
    return typed


class CancelForm(LoveMartForm):
    """退货: the reason is required and kept in the books with the reversal."""

    reason = TextAreaField(
        _l("退货原因"),
        validators=[DataRequired(message=_l("请填写退货原因。")), Length(max=200)],
        render_kw={"rows": 3, "maxlength": 200},
    )
