"""The county dashboard's filters: a range of months and the figure to rank by (a GET form)."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import Optional, Regexp

from lovemart.forms.base import SearchForm, options
from lovemart.services.reports import METRICS

_MONTH = Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message=_l("请按 2026-10 的格式填写月份。"))


class CountyForm(SearchForm):
    first = StringField(_l("起始月份"), validators=[Optional(), _MONTH])
    last = StringField(_l("截止月份"), validators=[Optional(), _MONTH])
    sort = SelectField(
        _l("排名依据"), choices=options((m.key, m.label) for m in METRICS), default="issued_per_household"
    )
