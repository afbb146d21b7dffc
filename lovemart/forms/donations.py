"""Donor, donation (goods or money), fund, funding and purchase forms.

Amounts are typed in yuan with at most two decimals (`YuanField`) and handed to the services in fen. Every
form that creates a donation or a purchase carries a `request_key` generated when the page is shown, so a
double submit of the same page records once.
"""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    DecimalField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from lovemart.forms.base import LoveMartForm, enum_options, options
from lovemart.forms.goods import BLANK_LINES, MAX_LINES, GoodsLinesMixin, StockLineForm
from lovemart.models.donations import DonorKind, FundKind

CENT = Decimal("0.01")
MAX_YUAN = Decimal("10000000")  # ten million yuan: beyond any village shop, and inside a 32-bit count of fen


def to_fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


class YuanField(DecimalField):
    """An amount in yuan: positive, at most two decimals, read as fen by `fen`."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, places=2, **kwargs)

    def pre_validate(self, form):
        if self.data is None:
            return
        if not self.data.is_finite():
            raise ValidationError(_l("请填写有效的金额。"))
        if self.data <= 0:
            raise ValidationError(_l("金额必须大于零。"))
        if self.data >= MAX_YUAN:
            raise ValidationError(_l("金额过大。"))
        if self.data != self.data.quantize(CENT):
            raise ValidationError(_l("金额最多保留两位小数（元、角、分）。"))

    @property
    def fen(self) -> int | None:
        return None if self.data is None else to_fen(self.data)


def _request_key():
    return HiddenField(validators=[DataRequired(), Length(min=16, max=64)])


class DonorForm(LoveMartForm):
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写捐赠方名称。")), Length(max=100)])
    kind = SelectField(_l("类别"), choices=enum_options(DonorKind))
    contact = StringField(_l("联系人"), validators=[Optional(), Length(max=64)])
    phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=20)])


def donor_options(donors):
    return options([("", _l("选择捐赠方")), *((str(d.id), f"{d.name}（{d.kind_label}）") for d in donors)])


def fund_options(funds):
    return options([("", _l("选择资金")), *((str(f.id), f"{f.name}（{f.kind_label}）") for f in funds)])


class _DonationFields(LoveMartForm):
    donor_id = SelectField(_l("捐赠方"), validators=[DataRequired(_l("请选择捐赠方。"))])
    received_on = DateField(_l("捐赠日期"), validators=[InputRequired(_l("请填写捐赠日期。"))])
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=500)])
    request_key = _request_key()

    def __init__(self, *args, donors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.donor_id.choices = donor_options(donors)


class GoodsDonationForm(GoodsLinesMixin, _DonationFields):
    lines = FieldList(FormField(StockLineForm), min_entries=BLANK_LINES, max_entries=MAX_LINES)


class MoneyDonationForm(_DonationFields):
    fund_id = SelectField(_l("存入资金"), validators=[DataRequired(_l("请选择存入哪项资金。"))])
    amount = YuanField(_l("金额（元）"), validators=[InputRequired(_l("请填写金额。"))])

    def __init__(self, *args, funds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fund_id.choices = fund_options(funds)


class FundForm(LoveMartForm):
    name = StringField(_l("资金名称"), validators=[DataRequired(_l("请填写资金名称。")), Length(max=64)])
    kind = SelectField(_l("资金来源"), choices=enum_options(FundKind))


class FundingForm(LoveMartForm):
    """Money allocated to a fund by its source (扶贫局资助, 民政补贴, 村集体)."""

    amount = YuanField(_l("金额（元）"), validators=[InputRequired(_l("请填写金额。"))])
    note = StringField(
        _l("说明"),
        validators=[DataRequired(_l("请说明这笔钱的来由，如“2026年第一批扶贫资金”。")), Length(max=200)],
    )


class PurchaseLineForm(StockLineForm):
    """A line of goods bought: what the line cost in all (not per unit), in yuan."""

    cost = YuanField(_l("金额（元）"), validators=[Optional()])

    def is_blank(self) -> bool:
        return super().is_blank() and self.cost.data is None and self.cost.raw_data in (None, [], [""])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.is_blank() and self.cost.data is None and not self.cost.errors:
            self.cost.errors = [*self.cost.errors, _l("请填写这种商品的采购金额。")]
            valid = False
        return valid

    def stock_in_line(self, cost_fen=None):
        return super().stock_in_line(cost_fen=self.cost.fen)


class PurchaseForm(GoodsLinesMixin, LoveMartForm):
    fund_id = SelectField(_l("支付资金"), validators=[DataRequired(_l("请选择用哪项资金支付。"))])
    bought_on = DateField(_l("采购日期"), validators=[InputRequired(_l("请填写采购日期。"))])
    supplier = StringField(_l("供货方"), validators=[Optional(), Length(max=100)])
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=500)])
    lines = FieldList(FormField(PurchaseLineForm), min_entries=BLANK_LINES, max_entries=MAX_LINES)
    request_key = _request_key()

    def __init__(self, *args, funds=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fund_id.choices = fund_options(funds)
