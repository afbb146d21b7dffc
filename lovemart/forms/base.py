"""`LoveMartForm`: the base of every form (CSRF through Flask-WTF, stripped text), and shared fields."""

from flask_wtf import FlaskForm
from wtforms import StringField


def strip(value):
    return value.strip() if isinstance(value, str) else value


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
