"""Filters of the audit log and of the supervisor's signals (GET forms)."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from lovemart.forms.base import SearchForm, options
from lovemart.services.audit import ACTION_NAMES
from lovemart.services.audit_log import KINDS

SYSTEM = "system"


class AuditFilterForm(SearchForm):
    person = SelectField(_l("人员"), validators=[Optional()])
    kind = SelectField(
        _l("类别"), choices=options([("", _l("全部类别")), *KINDS.items()]), validators=[Optional()]
    )
    #: One action, by the same Chinese names the log shows.
    action = SelectField(
        _l("操作"),
        choices=options([("", _l("全部操作")), *((tag.value, name) for tag, name in ACTION_NAMES.items())]),
        validators=[Optional()],
    )
    first = DateField(_l("从"), validators=[Optional()])
    last = DateField(_l("到"), validators=[Optional()])

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.person.choices = options(
            [("", _l("全部人员")), (SYSTEM, _l("系统")), *((str(u.id), u.display_name) for u in people)]
        )


class PeriodForm(SearchForm):
    first = DateField(_l("从"), validators=[Optional()])
    last = DateField(_l("到"), validators=[Optional()])
