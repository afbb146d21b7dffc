"""Points forms: ledger filters, award (one household or a batch), reversal, statement period.

Every writing form carries a hidden random request key made when the page is shown, so that a double click
or a resent form is recorded once (the points service replays the first result for a known key).
"""

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from wtforms import DateField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from lovemart.forms.base import LoveMartForm, SearchForm, enum_options, options
from lovemart.models.points import EntryKind
from lovemart.models.rules import RuleCategory


def new_request_key() -> str:
    return secrets.token_urlsafe(18)


def optional_int(value):
    """Coerce a select's value: the empty "please choose" option is None, so DataRequired names the field."""
    if value in ("", None):
        return None
    return int(value)


def rule_options(rules, *, with_points: bool = True) -> list[SelectChoice]:
    """Rules as select options grouped (optgroup) by category, in catalogue order."""
    choices = []
    for rule in rules:
        label = rule.name
        if with_points:
            label = str(_l("%(name)s（%(points)s 分）")) % {"name": rule.name, "points": f"{rule.points:+d}"}
        if not rule.active:
            label = str(_l("%(label)s［已停用］")) % {"label": label}
        choices.append(SelectChoice(rule.id, label, optgroup=str(RuleCategory(rule.category).label)))
    return choices


class RequestKeyMixin:
    request_key = HiddenField(
        default=new_request_key,
        validators=[DataRequired(), Length(max=40), Regexp(r"^[A-Za-z0-9_-]+$")],
    )


class _PeriodMixin:
    date_from = DateField(_l("从"), validators=[Optional()])
    date_to = DateField(_l("到"), validators=[Optional()])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("结束日期不能早于开始日期。"))


class LedgerFilterForm(_PeriodMixin, SearchForm):
    q = StringField(_l("农户"), validators=[Optional(), Length(max=64)])
    rule = SelectField(_l("细则"), coerce=str, validators=[Optional()], validate_choice=False)
    kind = SelectField(_l("类型"), validators=[Optional()], validate_choice=False)

    def __init__(self, *args, rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.rule.choices = options([("", _l("全部细则"))]) + rule_options(rules, with_points=False)
        self.kind.choices = options([("", _l("全部类型"))]) + enum_options(EntryKind)


class StatementFilterForm(_PeriodMixin, SearchForm):
    pass


class HouseholdSearchForm(SearchForm):
    q = StringField(_l("查找农户"), validators=[Optional(), Length(max=64)])


class AwardForm(RequestKeyMixin, LoveMartForm):
    # Choices are what the page offers; the points service decides what may be recorded (card, rule retired,
    # cap, balance), so a stale page gets that service's own refusal rather than "not a valid choice".
    household_id = SelectField(
        _l("农户"), coerce=optional_int, validate_choice=False, validators=[DataRequired(_l("请选择农户。"))]
    )
    rule_id = SelectField(
        _l("积分细则"),
        coerce=optional_int,
        validate_choice=False,
        validators=[DataRequired(_l("请选择细则。"))],
    )
    note = TextAreaField(_l("说明"), validators=[Optional(), Length(max=500)])
    photo = FileField(
        _l("证明照片（可选）"),
        validators=[
            Optional(),
            FileAllowed(["jpg", "jpeg", "png", "webp"], _l("只能上传 JPG、PNG 或 WebP 照片。")),
        ],
    )

    def __init__(self, *args, holders=(), card_numbers=None, rules=(), **kwargs):
        """`card_numbers` (household id → active card number) lets the page's search find a card number."""
        super().__init__(*args, **kwargs)
        numbers = card_numbers or {}
        self.household_id.choices = [
            SelectChoice("", _l("— 请选择 —")),
            *(
                SelectChoice(h.household_id, _holder_label(h), {"data-card": numbers.get(h.household_id, "")})
                for h in holders
            ),
        ]
        self.rule_id.choices = options([("", _l("— 请选择 —"))]) + rule_options(rules)


class BatchForm(RequestKeyMixin, LoveMartForm):
    group_id = HiddenField(validators=[DataRequired()])
    households = SelectMultipleField(_l("参加的农户"), coerce=int, validate_choice=False)
    rule_id = SelectField(
        _l("积分细则"),
        coerce=optional_int,
        validate_choice=False,
        validators=[DataRequired(_l("请选择细则。"))],
    )
    note = TextAreaField(_l("说明"), validators=[Optional(), Length(max=500)])

    def __init__(self, *args, rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.rule_id.choices = options([("", _l("— 请选择 —"))]) + rule_options(rules)


class ReverseForm(RequestKeyMixin, LoveMartForm):
    reason = TextAreaField(_l("冲正原因"), validators=[DataRequired(_l("请填写冲正原因。")), Length(max=500)])


class RefuseForm(LoveMartForm):
    """The reason typed in a queue's row when a claim is rejected or an application declined (the service
    refuses an empty one, with its own message)."""

    reason = StringField(_l("原因"), validators=[Length(max=500, message=_l("原因最多 500 个字。"))])


def _holder_label(holder) -> str:
    return str(_l("%(number)s %(head)s（%(group)s，余额 %(balance)d 分）")) % {
        "number": holder.number,
        "head": holder.head,
        "group": holder.group,
        "balance": holder.balance,
    }
