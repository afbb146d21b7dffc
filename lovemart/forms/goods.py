"""Goods forms: zones, products, catalogue filters, stock-in lines, plain stock-in and write-off.

`StockLineForm` is the one line of goods (product, quantity, optional use-by date) shared by stock-ins,
donations of goods and purchases; blank lines are skipped, half-filled lines are refused here.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from flask_wtf.i18n import translations
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from lovemart.forms.base import LoveMartForm, OneMessage, Range, SearchForm, WholeNumberField, options
from lovemart.services.inventory import LARGE_STOCK_IN, StockInLine

#: How many blank goods lines a form shows at first; "more lines" adds this many again.
BLANK_LINES = 5
MAX_LINES = 60
#: The most of one product a line (stock-in, write-off, correction) may carry at all.
MAX_QUANTITY = 1_000_000


def product_options(products, zones) -> list[SelectChoice]:
    """Products grouped by zone (`<optgroup>`, in the zones' order), with their unit, after "选择商品"."""
    order = {zone.id: (position, zone.name) for position, zone in enumerate(zones)}
    in_zones = [p for p in products if p.zone_id in order]
    return [SelectChoice("", _l("选择商品"))] + [
        SelectChoice(str(p.id), f"{p.name}（{p.unit}）", optgroup=order[p.zone_id][1])
        for p in sorted(in_zones, key=lambda p: (order[p.zone_id][0], p.name))
    ]


def zone_options(zones) -> list[SelectChoice]:
    return options((z.id, z.name) for z in zones)


class ZoneForm(LoveMartForm):
    name = StringField(_l("分区名称"), validators=[DataRequired(_l("请填写分区名称。")), Length(max=32)])
    active = BooleanField(_l("启用"), default=True)


class ProductForm(LoveMartForm):
    name = StringField(_l("商品名称"), validators=[DataRequired(_l("请填写商品名称。")), Length(max=100)])
    zone_id = SelectField(_l("分区"), coerce=int, validators=[InputRequired(_l("请选择分区。"))])
    unit = StringField(
        _l("单位"), validators=[DataRequired(_l("请填写单位，如袋、瓶、件。")), Length(max=16)]
    )
    points_price = WholeNumberField(
        _l("兑换积分"),
        validators=[
            InputRequired(_l("请填写兑换所需积分。")),
            Range(min=1, max=100000, below=_l("兑换积分必须大于零。")),
        ],
    )
    barcode = StringField(_l("条码（可选）"), validators=[Optional(), Length(max=32)])
    low_stock = WholeNumberField(
        _l("库存预警数量"),
        default=5,
        validators=[
            InputRequired(_l("请填写库存预警数量。")),
            Range(min=0, max=100000, below=_l("库存预警数量不能为负数。")),
        ],
    )
    active = BooleanField(_l("在售"), default=True)
    photo = FileField(
        _l("照片（可选）"),
        validators=[FileAllowed(["jpg", "jpeg", "png", "webp"], _l("只能上传 JPG、PNG 或 WebP 照片。"))],
    )

    def __init__(self, *args, zones=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.zone_id.choices = zone_options(zones)


class ProductFilterForm(SearchForm):
    q = StringField(_l("搜索"), validators=[Optional(), Length(max=64)])
    zone = SelectField(_l("分区"), validators=[Optional()])
    show = SelectField(
        _l("状态"),
        choices=options([("active", _l("在售")), ("all", _l("全部（含停售）"))]),
        default="active",
        validators=[Optional()],
    )

    def __init__(self, *args, zones=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.zone.choices = options([("", _l("全部分区")), *((str(z.id), z.name) for z in zones)])

    @property
    def zone_id(self) -> int | None:
        return int(self.zone.data) if (self.zone.data or "").isdigit() else None


class LineForm(OneMessage, Form):
    """Base of the rows inside a FieldList: plain WTForms forms (no CSRF of their own, the enclosing form has
    it) that still speak the request's language, as Flask-WTF's forms do."""

    class Meta:
        def get_translations(self, form):
            return translations


class StockLineForm(LineForm):
    """One line of goods received. Blank: ignored. Product without quantity, or the reverse: refused."""

    product_id = SelectField(_l("商品"), validators=[Optional()])
    quantity = WholeNumberField(
        _l("数量"), validators=[Optional(), Range(min=1, max=MAX_QUANTITY, below=_l("数量必须大于零。"))]
    )
    use_by = DateField(_l("保质期至"), validators=[Optional()])
    #: Ticked with the quantity it confirms as its value, so a changed quantity is asked again.
    confirmed = StringField(validators=[Optional(), Length(max=12)])

    @property
    def large(self) -> bool:
        """A quantity above `LARGE_STOCK_IN`: asked again before it is stocked in."""
        return self.quantity.data is not None and LARGE_STOCK_IN < self.quantity.data <= MAX_QUANTITY

    @property
    def large_confirmed(self) -> bool:
        return self.large and self.confirmed.data == str(self.quantity.data)

    def is_blank(self) -> bool:
        return (
            not self.product_id.data
            and self.quantity.data is None
            and self.quantity.raw_data in (None, [], [""])
        )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.is_blank():
            return valid
        if not self.product_id.data:
            self.product_id.errors = [*self.product_id.errors, _l("请选择商品。")]
            valid = False
        if self.quantity.data is None and not self.quantity.errors:
            self.quantity.errors = [*self.quantity.errors, _l("请填写数量。")]
            valid = False
        if self.large and not self.large_confirmed:
            self.quantity.errors = [_l("数量很大，请再核对一遍；无误请勾选下面的确认。")]
            valid = False
        return valid

    def stock_in_line(self, cost_fen: int | None = None) -> StockInLine:
        return StockInLine(
            product_id=int(self.product_id.data),
            quantity=self.quantity.data,
            use_by=self.use_by.data,
            cost_fen=cost_fen,
        )


class GoodsLinesMixin:
    """A form with `lines`: product choices for every line, and the filled lines as `StockInLine`s."""

    def set_product_choices(self, products, zones) -> None:
        choices = product_options(products, zones)
        for line in self.lines:
            line.form.product_id.choices = choices

    def filled_lines(self) -> list:
        return [line.form for line in self.lines if not line.form.is_blank()]

    def stock_in_lines(self) -> list[StockInLine]:
        return [line.stock_in_line() for line in self.filled_lines()]

    def lines_errors(self) -> list[str]:
        """Errors of the whole list (not of one line), e.g. "请至少填写一种商品"."""
        return [str(e) for e in self.lines.errors if not isinstance(e, dict | list)]


class StockInForm(GoodsLinesMixin, LoveMartForm):
    """进货 other than a donation or a purchase (opening stock, transfers in); a note says where from."""

    note = StringField(
        _l("来源说明"), validators=[DataRequired(_l("请说明这批货的来源，如“期初库存”。")), Length(max=200)]
    )
    lines = FieldList(FormField(StockLineForm), min_entries=BLANK_LINES, max_entries=MAX_LINES)


class CorrectionForm(LoveMartForm):
    """更正入库: what the stock-in really brought, and why it was typed otherwise."""

    quantity = WholeNumberField(
        _l("实收数量"),
        validators=[
            InputRequired(_l("请填写实收数量。")),
            Range(min=0, max=MAX_QUANTITY, below=_l("实收数量不能为负数。")),
        ],
        description=_l("这次入库实际收到的数量；一件也没收到填 0。"),
    )
    reason = StringField(_l("更正原因"), validators=[DataRequired(_l("请填写更正原因。")), Length(max=200)])


class WriteOffForm(LoveMartForm):
    quantity = WholeNumberField(
        _l("报损数量"),
        validators=[
            InputRequired(_l("请填写报损数量。")),
            Range(min=1, max=MAX_QUANTITY, below=_l("报损数量必须大于零。")),
        ],
    )
    reason = StringField(_l("报损原因"), validators=[DataRequired(_l("请填写报损原因。")), Length(max=200)])
