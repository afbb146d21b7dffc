"""`LoveMartForm`: the base of every form (CSRF through Flask-WTF, cleaned text), and shared fields."""

import re
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, FormField, IntegerField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, StopValidation

#: What no database column can hold: NUL (PostgreSQL refuses it) and a lone surrogate (half of a UTF-16
#: pair, which no encoding can write). The API refuses a request carrying one (`lovemart.web.security`).
UNSTORABLE = "\x00\ud800-\udfff"
#: Control characters other than tab and line breaks and the unstorable: never meant by a person.
CONTROL = re.compile(f"[{UNSTORABLE}\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(value):
    """Typed text without surrounding spaces or control characters."""
    return CONTROL.sub("", value).strip() if isinstance(value, str) else value


def options(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """Select options from (value, label) pairs, in the form WTForms 3.3+ expects."""
    return [SelectChoice(value, label) for value, label in pairs]


def enum_options(enum) -> list[SelectChoice]:
    """Options for a StrEnum whose members have a `label`."""
    return options((item.value, item.label) for item in enum)


#: The database's integer columns hold 32 bits; a bigger typed number is refused on the form, not by SQL.
INTEGER_LIMIT = 2**31 - 1
#: What a person types as a whole number: digits with an optional sign (full-width digits too).
_WHOLE = re.compile(r"[+-]?\d+")


class WholeNumberField(IntegerField):
    """An integer typed by a person, with one message at most, the first that applies: not a whole number
    ("请输入整数"), then beyond what a column holds ("数字太大了"), then the field's own validators in order
    (blank: `InputRequired`; outside its range: `Range`), each of which stops the chain.

    WTForms' `IntegerField` keeps validating after its own "不是有效的整数" and `NumberRange` adds a second
    message; 2.5 said both "not an integer" and "must be above zero". Every integer input of LoveMart is
    this field (`tests/web/test_form_messages.py` walks the forms to keep it so)."""

    too_large = False

    def process_formdata(self, valuelist):
        self.too_large = False
        if not valuelist:
            return
        text = clean(valuelist[0]) if isinstance(valuelist[0], str) else valuelist[0]
        if text in ("", None):
            self.data, self.raw_data = None, [""]  # spaces alone are blank: `InputRequired` names them
            return
        if not isinstance(text, str) or not _WHOLE.fullmatch(text):
            self.data = None
            raise ValueError(_l("请输入整数。"))
        if len(text.lstrip("+-")) > 12:  # no need to build a 4,000-digit int to know it is too big
            self.data, self.too_large = None, True
            return
        self.data = int(text)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # its one message is already in `errors`
        if self.too_large or (self.data is not None and abs(self.data) > INTEGER_LIMIT):
            raise StopValidation(_l("数字太大了，请核对。"))


class Range(NumberRange):
    """`NumberRange` that stops the chain and names the side crossed when told how (`below`, `above`: the
    field's own words, e.g. "兑换积分必须大于零"); otherwise it says both ends ("数值大小必须介于 1 到 60
    之间"), which is true on either side. Blank passes: `InputRequired`, `Filled` or `Optional` speaks."""

    def __init__(self, min=None, max=None, *, below=None, above=None):
        super().__init__(min=min, max=max)
        self.below, self.above = below, above

    def __call__(self, form, field):
        value = field.data
        if value is None:
            return
        if self.min is not None and value < self.min:
            raise StopValidation(str(self.below or self._both(field)))
        if self.max is not None and value > self.max:
            raise StopValidation(str(self.above or self._both(field)))

    def _both(self, field) -> str:
        bounds, wtforms_own = {"min": self.min, "max": self.max}, field.gettext  # WTForms' own catalogue
        if self.max is None:
            return wtforms_own("Number must be at least %(min)s.") % bounds
        if self.min is None:
            return wtforms_own("Number must be at most %(max)s.") % bounds
        return wtforms_own("Number must be between %(min)s and %(max)s.") % bounds


class Filled:
    """A number must be there: blank typed is refused, a field the request left out keeps its default or
    the record's value (unlike `InputRequired`, which refuses a left-out field too)."""

    def __init__(self, message=None):
        self.message = message

    def __call__(self, form, field):
        if field.data is None:
            wtforms_own = field.gettext  # WTForms' own catalogue says it in the request's language
            raise StopValidation(str(self.message or wtforms_own("This field is required.")))


class OneMessage:
    """The first message of each field only: the fields and validators above already stop at the first
    problem; this keeps any other field (a select, a date) from stacking a second one under it."""

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if not isinstance(field, FieldList | FormField) and len(field.errors) > 1:
                field.errors = field.errors[:1]
        return valid


class LoveMartForm(OneMessage, FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            field_class, own = unbound_field.field_class, unbound_field.kwargs
            if issubclass(field_class, StringField):
                options["filters"] = (clean, *own.get("filters", ()), *options.get("filters", ()))
            return unbound_field.bind(form=form, **options)


class SearchForm(LoveMartForm):
    """Filters read from the query string: GET forms carry no CSRF token."""

    class Meta:
        csrf = False
