"""`LoveMartForm`: the base of every form (CSRF through Flask-WTF, stripped text), and shared fields."""

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.fields.choices import SelectChoice


def strip(value):
    return value.strip() if isinstance(value, str) else value


def options(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """Select options from (value, label) pairs, in the form WTForms 3.3+ expects."""
    return [SelectChoice(value, label) for value, label in pairs]


def enum_options(enum) -> list[SelectChoice]:
    """Options for a StrEnum whose members have a `label`."""
    return options((item.value, item.label) for item in enum)


class LoveMartForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            if issubclass(unbound_field.field_class, StringField):
                options["filters"] = (strip, *options.get("filters", ()))
            return unbound_field.bind(form=form, **options)


class SearchForm(LoveMartForm):
    """Filters read from the query string: GET forms carry no CSRF token."""

    class Meta:
        csrf = False
