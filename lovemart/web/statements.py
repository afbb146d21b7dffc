"""A household's statement (积分明细): on screen with the running balance, as .xlsx, and as a printable
passbook for villagers without a phone."""

from datetime import date, datetime, timedelta

from flask import Blueprint, current_app, render_template, request, send_file
from flask_babel import gettext as _

from lovemart.authz import Permission, require
from lovemart.db import db
from lovemart.forms.points import StatementFilterForm
from lovemart.services import statements
from lovemart.services.points import VILLAGE_TIMEZONE
from lovemart.services.statements import Period
from lovemart.web.context import working_village

bp = Blueprint("statements", __name__)


@bp.get("/<int:household_id>")
@require(Permission.LEDGER_READ)
def show(household_id: int):
    village = working_village()
    form, period = _period()
    statement = statements.statement(
        db.session,
        village_id=village.id,
        household_id=household_id,
        period=period,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
    )
    return render_template(
        "statements/show.html",
        statement=statement,
        form=form,
        period_text=statements.period_text(period),
        quick=_quick_periods(),
    )


@bp.get("/<int:household_id>/print")
@require(Permission.LEDGER_READ)
def printable(household_id: int):
    """The passbook (积分存折): every entry of the period on A4, with opening and closing balance."""
    village = working_village()
    _form, period = _period()
    statement = statements.passbook(
        db.session, village_id=village.id, household_id=household_id, period=period
    )
    return render_template(
        "statements/print.html",
        statement=statement,
        period_text=statements.period_text(period),
        now_local=datetime.now(VILLAGE_TIMEZONE).date().isoformat(),
    )


@bp.get("/<int:household_id>/statement.xlsx")
@require(Permission.LEDGER_READ)
def export(household_id: int):
    village = working_village()
    _form, period = _period()
    data = statements.export_xlsx(db.session, village_id=village.id, household_id=household_id, period=period)
    suffix = "-".join(d.isoformat() for d in (period.start, period.end) if d) or "all"
    return send_file(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{village.code}-{household_id}-statement-{suffix}.xlsx",
    )


def _quick_periods() -> list[tuple[str, date | None, date | None]]:
    """This month, last month, this year and everything, as (label, first day, last day) in village time."""
    today = datetime.now(VILLAGE_TIMEZONE).date()
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    return [
        (_("本月"), month_start, today),
        (_("上月"), last_month_end.replace(day=1), last_month_end),
        (_("今年"), today.replace(month=1, day=1), today),
        (_("全部"), None, None),
    ]


def _period() -> tuple[StatementFilterForm, Period]:
    """The period asked for in the query string; a date that does not parse, or an end before the start, is
    shown on the form and ignored."""
    form = StatementFilterForm(request.args)
    if not form.validate():
        return form, Period()
    return form, Period(form.date_from.data, form.date_to.data)
