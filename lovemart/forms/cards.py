"""Card forms: the confirm step of a report-lost/reissue or a recovery, and the card sheet's group filter."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from lovemart.forms.base import LoveMartForm, SearchForm, options


class ConfirmForm(LoveMartForm):
    """A POST that changes a card: only its CSRF token, the page around it says what will happen."""


class SheetForm(SearchForm):
    group = SelectField(_l("村民小组"), default="")

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.group.choices = options([("", _l("全村")), *((str(g.id), g.name) for g in groups)])

    @property
    def group_id(self) -> int | None:
        value = self.group.data or ""
        return int(value) if value.isdigit() else None
