"""Offline counter forms: registering this browser as a counter device, switching a device's offline use,
and the supervisor's decision on an offline redemption that could not be booked."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from lovemart.forms.base import LoveMartForm


class RegisterDeviceForm(LoveMartForm):
    name = StringField(
        _l("设备名称"),
        validators=[DataRequired(_l("请填写设备名称。")), Length(max=40)],
        render_kw={"placeholder": _l("例如：柜台手机")},
    )


class DeviceOfflineForm(LoveMartForm):
    enabled = BooleanField(_l("允许这台设备离线兑换"))


class SettleForm(LoveMartForm):
    decision = RadioField(
        _l("处理"),
        choices=[
            ("accept", _l("准予入账（东西已拿走，积分可以扣成负数）")),
            ("recover", _l("已追回（东西或等值已退回，不入账）")),
        ],
        validators=[InputRequired(_l("请选择处理方式。"))],
    )
    reason = TextAreaField(
        _l("理由"), validators=[DataRequired(_l("请填写处理理由。")), Length(max=200)], render_kw={"rows": 2}
    )
