"""Inspection forms: one household's 五净一规范 check, and a whole group's monthly round."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from lovemart.forms.base import LoveMartForm, SearchForm, WholeNumberField, options
from lovemart.models.inspections import CHECKS

#: The rule select's "no points" choice.
NO_RULE = ""


def _checks(default: bool):
    """Add one checkbox per check (院内净 …) to a form class, named by the inspection's column."""

    def add(cls):
        for column, label in CHECKS:
            setattr(cls, column, BooleanField(label, default=default))
        return cls

    return add


class _InspectedFields:
    inspected_on = DateField(_l("检查日期"), validators=[InputRequired(_l("请填写检查日期。"))])
    inspector = StringField(_l("检查人"), validators=[DataRequired(_l("请填写检查人。")), Length(max=64)])


@_checks(default=False)  # one household, usually before a card: each check is ticked on purpose
class InspectionForm(_InspectedFields, LoveMartForm):
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=500)])
    photo = FileField(_l("照片（可选）"))

    def check_values(self) -> dict[str, bool]:
        return {column: bool(getattr(self, column).data) for column, _ in CHECKS}


@_checks(default=True)  # the monthly round: most households pass, the inspector unticks what failed
class RoundRowForm(Form):
    """One household's line in the round; the household comes from a hidden id the service checks."""

    household_id = WholeNumberField(widget=HiddenInput(), validators=[InputRequired()])
    rule = SelectField(_l("加减分"), default=NO_RULE, validators=[Optional()])
    note = StringField(_l("备注"), validators=[Optional(), Length(max=500)])

    def check_values(self) -> dict[str, bool]:
        return {column: bool(getattr(self, column).data) for column, _ in CHECKS}


class RoundForm(_InspectedFields, LoveMartForm):
    group_id = HiddenField(validators=[DataRequired()])
    #: Generated when the form is first shown; a second submission of the same page is recognised by it.
    request_key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    rows = FieldList(FormField(RoundRowForm))

    def __init__(self, *args, rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        rule_options = ((str(r.id), f"{r.name}（{r.points:+d}）") for r in rules)
        choices = options([(NO_RULE, _l("不加减分")), *rule_options])
        for row in self.rows:
            row.form.rule.choices = choices


class RoundGroupForm(SearchForm):
    group = SelectField(_l("村民小组"), validators=[Optional()])

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.group.choices = options([("", _l("请选择小组")), *((str(g.id), g.name) for g in groups)])
