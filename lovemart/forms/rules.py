"""The rule form (积分细则): shape only; the rule service decides what is allowed (signs, caps, repeats)."""

import re

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from lovemart.forms.base import LoveMartForm, Range, WholeNumberField, enum_options
from lovemart.models.rules import RuleCategory

#: "-5,-10,-20"; Chinese commas, 、 and spaces are accepted too.
_REPEAT = re.compile(r"^\s*-?\d+(\s*[,，、\s]\s*-?\d+)*\s*$")


class RuleForm(LoveMartForm):
    name = StringField(_l("细则名称"), validators=[DataRequired(), Length(max=100)])
    category = SelectField(_l("类别"), choices=enum_options(RuleCategory))
    points = WholeNumberField(
        _l("分值"),
        validators=[InputRequired(_l("请填写分值。")), Range(min=-10000, max=10000)],
        description=_l("加分填正数；扣分项填负数，如 -5。"),
    )
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=500)])
    cap_per_month = WholeNumberField(
        _l("每户每月上限（分）"),
        validators=[Optional(), Range(min=1, max=100000)],
        description=_l("只用于加分项；留空表示不限。"),
    )
    repeat_points = StringField(
        _l("同月累犯加重"),
        validators=[
            Optional(),
            Length(max=100),
            Regexp(_REPEAT.pattern, message=_l("请用逗号分隔各次分值，如 -5,-10,-20。")),
        ],
        description=_l(
            "只用于扣分项：同一户同月第 1、2、3 次……各扣多少分，如 -5,-10,-20；第 1 次须等于分值。"
        ),
    )
    requires_approval = BooleanField(_l("需监督员审核后才记入"))
    allow_negative = BooleanField(_l("允许扣成负分（余额不足时照扣，该户欠分）"))

    def repeat_values(self) -> tuple[int, ...] | None:
        text = (self.repeat_points.data or "").strip()
        if not text:
            return None
        return tuple(int(part) for part in re.split(r"[,，、\s]+", text) if part)

    @staticmethod
    def data_of(rule) -> dict:
        """The form's values for an existing rule."""
        return {
            "name": rule.name,
            "category": rule.category,
            "points": rule.points,
            "description": rule.description,
            "cap_per_month": rule.cap_per_month,
            "repeat_points": ",".join(str(p) for p in rule.repeat_points) if rule.repeat_points else "",
            "requires_approval": rule.requires_approval,
            "allow_negative": rule.allow_negative,
        }
