"""Household, member, filter and import forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from lovemart.forms.base import LoveMartForm, Range, SearchForm, WholeNumberField, enum_options, options
from lovemart.forms.points import optional_int
from lovemart.models.households import Gender, HouseholdStatus, Relation


def chosen(enum, message) -> dict:
    """A select that starts on "请选择" and must be answered: nothing that labels a household or a person
    (户类别, 小组, 关系, 性别) is set to a value the cadre did not choose."""
    return {
        "choices": options([("", _l("— 请选择 —"))]) + enum_options(enum),
        "validators": [DataRequired(message)],
    }


class HouseholdForm(LoveMartForm):
    number = StringField(_l("户号"), validators=[DataRequired(), Length(max=32)])
    group_id = SelectField(
        _l("村民小组"), coerce=optional_int, validators=[DataRequired(_l("请选择村民小组。"))]
    )
    address = StringField(_l("住址"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("电话"), validators=[Optional(), Length(max=20)])
    status = SelectField(_l("户类别"), **chosen(HouseholdStatus, _l("请选择户类别。")))

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.group_id.choices = options([("", _l("— 请选择 —")), *((g.id, g.name) for g in groups)])


class MemberForm(LoveMartForm):
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=32)])
    relation = SelectField(_l("与户主关系"), **chosen(Relation, _l("请选择与户主关系。")))
    gender = SelectField(_l("性别"), **chosen(Gender, _l("请选择性别。")))
    birth_year = WholeNumberField(_l("出生年份"), validators=[Optional(), Range(min=1900, max=2100)])
    party_member = BooleanField(_l("党员"))


class NewHouseholdForm(HouseholdForm):
    """A new household starts with its head."""

    head_name = StringField(_l("户主姓名"), validators=[DataRequired(), Length(max=32)])
    head_gender = SelectField(_l("户主性别"), **chosen(Gender, _l("请选择性别。")))
    head_birth_year = WholeNumberField(_l("户主出生年份"), validators=[Optional(), Range(min=1900, max=2100)])
    head_party_member = BooleanField(_l("户主是党员"))


class HouseholdFilterForm(SearchForm):
    q = StringField(_l("搜索"), validators=[Optional(), Length(max=64)])
    group = SelectField(_l("村民小组"), coerce=str, validators=[Optional()])
    status = SelectField(_l("户类别"), validators=[Optional()])
    active = SelectField(
        _l("状态"),
        choices=options([("1", _l("在册")), ("0", _l("已迁出")), ("all", _l("全部"))]),
        default="1",
        validators=[Optional()],
    )

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.group.choices = options([("", _l("全部小组")), *((str(g.id), g.name) for g in groups)])
        self.status.choices = options([("", _l("全部类别"))]) + enum_options(HouseholdStatus)


class ImportForm(LoveMartForm):
    file = FileField(
        _l("花名册文件"),
        validators=[
            FileRequired(_l("请选择要导入的文件。")),
            FileAllowed(["xlsx", "csv"], _l("只支持 .xlsx 或 .csv 文件。")),
        ],
    )


class ImportConfirmForm(LoveMartForm):
    upload = HiddenField(validators=[DataRequired(), Length(max=64)])
