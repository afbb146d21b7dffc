"""The grid worker's round forms (网格员): one household's points proposal with an optional photo. The
inspection form is `forms.inspections.InspectionForm`, shown with every check ticked."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lovemart.forms.base import LoveMartForm, options
from lovemart.forms.points import RequestKeyMixin, optional_int, rule_options


class ProposeForm(RequestKeyMixin, LoveMartForm):
    # The rule list is what the page offers; the points service decides (retired, cap, balance).
    rule_id = SelectField(
        _l("积分细则"),
        coerce=optional_int,
        validate_choice=False,
        validators=[DataRequired(_l("请选择细则。"))],
    )
    note = TextAreaField(_l("说明"), validators=[Optional(), Length(max=500)])
    photo = FileField(
        _l("照片（可选，扣分时建议拍照）"),
        validators=[
            Optional(),
            FileAllowed(["jpg", "jpeg", "png", "webp"], _l("只能上传 JPG、PNG 或 WebP 照片。")),
        ],
    )

    def __init__(self, *args, rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.rule_id.choices = options([("", _l("— 请选择 —"))]) + rule_options(rules)
