"""Forms of the wish wall: posting a wish (villager or administrator), moderating it, taking it up,
linking the goods, handing them over and recording how it came true."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from lovemart.forms.base import LoveMartForm, Range, WholeNumberField, enum_options, options
from lovemart.forms.public import new_request_key
from lovemart.models.walls import WishCategory


class WishForm(LoveMartForm):
    text = TextAreaField(
        _l("我的心愿"),
        validators=[DataRequired(_l("请写下心愿。")), Length(max=500)],
        render_kw={"rows": 3, "maxlength": 500},
    )
    category = SelectField(_l("类别"), choices=enum_options(WishCategory))
    photo = FileField(_l("照片（可不传）"), render_kw={"accept": "image/jpeg,image/png,image/webp"})
    request_key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{16,43}$")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.request_key.data:
            self.request_key.data = new_request_key()


class StaffWishForm(WishForm):
    """The administrator posts for a household, named by its number (户号)."""

    household_number = StringField(_l("户号"), validators=[DataRequired(_l("请填写户号。")), Length(max=32)])


class DeclineForm(LoveMartForm):
    reason = StringField(
        _l("不通过的原因"), validators=[DataRequired(_l("请填写原因，村民会看到它。")), Length(max=200)]
    )


class PledgeForm(LoveMartForm):
    donor_id = SelectField(
        _l("认领人（捐赠方）"), coerce=int, validators=[DataRequired(_l("请选择捐赠方。"))]
    )
    note = StringField(_l("说明"), validators=[Optional(), Length(max=200)])

    def __init__(self, *args, donors=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.donor_id.choices = options((d.id, d.name) for d in donors)


class GoodsForm(LoveMartForm):
    donation_id = SelectField(_l("认领人捐赠的物资"), coerce=int, validators=[DataRequired()])

    def __init__(self, *args, donations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.donation_id.choices = options(
            (d.id, f"{d.receipt_no} · {d.received_on:%Y-%m-%d}") for d in donations
        )


class HandoverForm(LoveMartForm):
    product_id = SelectField(_l("物品"), coerce=int, validators=[DataRequired()])
    quantity = WholeNumberField(
        _l("数量"),
        default=1,
        validators=[InputRequired(_l("请填写数量。")), Range(min=1, max=1000, below=_l("数量必须大于零。"))],
    )

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.product_id.choices = options((p.id, f"{p.name}（{_l('库存')} {p.stock}）") for p in products)


class FulfilForm(LoveMartForm):
    fulfilment = TextAreaField(
        _l("心愿怎样实现的"),
        validators=[DataRequired(_l("请写明心愿是怎样实现的。")), Length(max=500)],
        render_kw={"rows": 2},
    )
    thanks = StringField(_l("致谢"), validators=[Optional(), Length(max=200)])
