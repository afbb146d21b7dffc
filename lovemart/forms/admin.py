"""System administration: villages and staff accounts."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from lovemart.authz import Role
from lovemart.forms.base import Filled, LoveMartForm, Range, WholeNumberField, enum_options, options
from lovemart.services.activity import QUIET_DAYS_MAX, QUIET_DAYS_MIN
from lovemart.services.users import MIN_PASSWORD_LENGTH
from lovemart.services.villages import OFFLINE_CAP_MAX


class VillageForm(LoveMartForm):
    county_code = StringField(_l("县代码"), validators=[DataRequired(), Length(max=32)])
    county_name = StringField(_l("县名称"), validators=[DataRequired(), Length(max=64)])
    township_name = StringField(_l("乡镇"), validators=[DataRequired(), Length(max=64)])
    code = StringField(
        _l("村代码"),
        validators=[
            DataRequired(),
            Length(max=32),
            Regexp(r"^[A-Za-z0-9-]+$", message=_l("村代码只能包含字母、数字和连字符。")),
        ],
    )
    name = StringField(_l("村名称"), validators=[DataRequired(), Length(max=64)])
    groups = TextAreaField(_l("村民小组（每行一个）"), validators=[DataRequired()])
    base_points = WholeNumberField(
        _l("新卡基础积分"), default=100, validators=[Filled(), Range(min=0, max=100000)]
    )
    yuan_per_point = WholeNumberField(
        _l("每分折合（元）"), default=3, validators=[Filled(), Range(min=1, max=1000)]
    )
    card_prefix = StringField(_l("卡号前缀"), validators=[Optional(), Length(max=16)])
    notice_days = WholeNumberField(_l("公示期（天）"), default=7, validators=[Filled(), Range(min=1, max=60)])
    credit_after_notice = BooleanField(_l("公示后入账（加分经公示无异议后才入账）"))
    quiet_days = WholeNumberField(
        _l("冷清提醒（天）"),
        default=60,
        validators=[Filled(), Range(min=QUIET_DAYS_MIN, max=QUIET_DAYS_MAX)],
    )
    grid_awards_direct = BooleanField(_l("网格员记分直接入账（不经监督员审核）"))
    offline_cap_points = WholeNumberField(
        _l("离线兑换限额（分）"), default=100, validators=[Filled(), Range(min=0, max=OFFLINE_CAP_MAX)]
    )


class VillageSettingsForm(LoveMartForm):
    base_points = WholeNumberField(_l("新卡基础积分"), validators=[Filled(), Range(min=0, max=100000)])
    yuan_per_point = WholeNumberField(_l("每分折合（元）"), validators=[Filled(), Range(min=1, max=1000)])
    card_prefix = StringField(_l("卡号前缀"), validators=[DataRequired(), Length(max=16)])
    notice_days = WholeNumberField(_l("公示期（天）"), validators=[Filled(), Range(min=1, max=60)])
    credit_after_notice = BooleanField(
        _l("公示后入账（加分经公示无异议后才入账）"),
        description=_l(
            "打开后，新记的加分先显示为“公示中”，列入公示并在公示期满无异议后才入账；扣分仍立即生效。"
        ),
    )
    quiet_days = WholeNumberField(
        _l("冷清提醒（天）"),
        validators=[Filled(), Range(min=QUIET_DAYS_MIN, max=QUIET_DAYS_MAX)],
        description=_l("一户超过这么多天没有任何积分记录，就列入监督提示和县、乡看板的冷清提醒。"),
    )
    grid_awards_direct = BooleanField(
        _l("网格员记分直接入账（不经监督员审核）"),
        description=_l(
            "默认关闭：网格员提交的加分、扣分先由监督员审核。只在信得过的网格员都已熟悉细则后打开。"
        ),
    )
    offline_cap_points = WholeNumberField(
        _l("离线兑换限额（分）"),
        validators=[Filled(), Range(min=0, max=OFFLINE_CAP_MAX)],
        description=_l("断网时柜台设备上每户每次最多可兑换的积分；0 表示不允许离线兑换。"),
    )


class UserForm(LoveMartForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("姓名"), validators=[Optional(), Length(max=64)])
    role = SelectField(_l("角色"), choices=enum_options(Role))
    village_id = SelectField(
        _l("所属村（县级、乡镇用户为所属县、乡镇的任一村）"), coerce=int, validators=[Optional()]
    )
    password = PasswordField(
        _l("初始密码"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=256)]
    )
    household_number = StringField(
        _l("本人所在户的户号（可不填）"),
        validators=[Optional(), Length(max=32)],
        description=_l("填写后，此人给自家记分时会提示监督员核查。"),
    )
    groups = StringField(
        _l("负责的村民小组（网格员填写，多个用逗号分隔）"),
        validators=[Optional(), Length(max=500)],
        description=_l("网格员只能检查、记分这些小组的农户。"),
    )

    def __init__(self, *args, villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.village_id.choices = options([(0, "—"), *((v.id, f"{v.name}（{v.code}）") for v in villages)])


class UserGroupsForm(LoveMartForm):
    groups = StringField(
        _l("负责的村民小组（多个用逗号分隔）"),
        validators=[DataRequired(_l("网格员至少要负责一个村民小组。")), Length(max=500)],
    )
