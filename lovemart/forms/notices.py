"""Notice forms (公示): compile a month, publish the reviewed draft, answer an objection; and the villager's
objection (异议) on the QR page."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, RadioField, TextAreaField
from wtforms.fields import MonthField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

from lovemart.forms.base import LoveMartForm, Range, WholeNumberField, options
from lovemart.forms.points import RequestKeyMixin
from lovemart.models.notices import ObjectionStatus
from lovemart.services.notices import MAX_TEXT


class CompileForm(LoveMartForm):
    month = MonthField(_l("公示月份"), validators=[DataRequired(_l("请选择月份。"))])
    days = WholeNumberField(
        _l("公示期（天）"),
        validators=[InputRequired(_l("请填写公示期。")), Range(min=1, max=60)],
        description=_l("发布后这么多天内，村民可以提出异议。"),
    )
    honour_roll = BooleanField(_l("附红黑榜（本期得分最多和扣分最多的各 5 户）"), default=True)


class PublishForm(LoveMartForm):
    #: SHA-256 of the draft shown on the confirmation page: only that draft is published.
    reviewed = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{64}$")])


class AnswerForm(LoveMartForm):
    decision = RadioField(
        _l("核实结果"),
        validators=[DataRequired(_l("请选择核实结果。"))],
        choices=options(
            [
                (ObjectionStatus.UPHELD.value, _l("异议成立：冲正这条记录（公示中的积分不再入账）")),
                (ObjectionStatus.DISMISSED.value, _l("异议不成立：维持原记录")),
            ]
        ),
    )
    answer = TextAreaField(
        _l("答复（村民会看到）"),
        validators=[DataRequired(_l("请填写答复，村民会看到它。")), Length(max=MAX_TEXT)],
        render_kw={"rows": 3, "maxlength": MAX_TEXT},
    )


class ObjectionForm(RequestKeyMixin, LoveMartForm):
    text = TextAreaField(
        _l("异议理由"),
        validators=[DataRequired(_l("请写明异议的理由。")), Length(max=MAX_TEXT)],
        render_kw={"rows": 3, "maxlength": MAX_TEXT},
    )
