"""The villager's application form (积分申报) on the QR page."""

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from lovemart.forms.base import LoveMartForm, options


def new_request_key() -> str:
    return secrets.token_urlsafe(16)


class ApplicationForm(LoveMartForm):
    rule_id = SelectField(_l("申报事项"), coerce=int, validators=[DataRequired(_l("请选择申报事项。"))])
    note = TextAreaField(
        _l("做了什么"),
        validators=[DataRequired(_l("请简要说明做了什么好事。")), Length(max=500)],
        render_kw={"rows": 3, "maxlength": 500},
    )
    photo = FileField(_l("照片（可不传）"), render_kw={"accept": "image/jpeg,image/png,image/webp"})
    #: Random per form: a second submit of the same form (double tap, resend) finds the first application.
    request_key = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{16,43}$")])

    def __init__(self, *args, rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.rule_id.choices = options((rule.id, _rule_label(rule)) for rule in rules)
        if not self.request_key.data:
            self.request_key.data = new_request_key()


def _rule_label(rule) -> str:
    return str(_l("%(name)s（%(points)d 分）", name=rule.name, points=rule.points))
