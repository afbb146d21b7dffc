"""`LoveMartForm`: the base of every form (CSRF through Flask-WTF, cleaned text), and shared fields."""

import re
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice

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


def fits_a_column(_form, field):
    if field.data is not None and abs(field.data) > INTEGER_LIMIT:
        raise ValidationError(_l("数字太大了，请核对。"))


class LoveMartForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            field_class, own = unbound_field.field_class, unbound_field.kwargs
            if issubclass(field_class, StringField):
                options["filters"] = (clean, *own.get("filters", ()), *options.get("filters", ()))
            if issubclass(field_class, IntegerField):
                options["validators"] = (*own.get("validators", ()), fits_a_column)
            return unbound_field.bind(form=form, **options)


class SearchForm(LoveMartForm):
    """Filters read from the query string: GET forms carry no CSRF token."""

    class Meta:
        csrf = False
