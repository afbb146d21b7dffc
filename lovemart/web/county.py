"""The county dashboard (县级; 乡镇 for a township officer): every village its user may read side by side for
a range of months, ranked by any figure, with charts and .xlsx export. County and township officers read;
nothing here writes."""

from datetime import date, datetime, timedelta

from flask import Blueprint, g, render_template, request, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from lovemart import scope
from lovemart.authz import Permission, Role, current_actor, require
from lovemart.db import db, utcnow
from lovemart.forms.county import CountyForm
from lovemart.services import activity, reports, witness
from lovemart.services.reports import METRIC_KEYS, METRICS
from lovemart.services.totals import VILLAGE_TIMEZONE

bp = Blueprint("county", __name__)

#: The default period: the current month so far and the two before it (the seeds' weekly ranking compares
#: what is happening now).
DEFAULT_MONTHS = 3
#: A period longer than this is refused (the monthly chart would be unreadable).
MAX_MONTHS = 60


@bp.get("/")
@require(Permission.COUNTY_READ)
def index():
    form, overview = _overview()
    rows = reports.ranked(overview, form.sort.data)
    metric = METRIC_KEYS[form.sort.data]
    with scope.across(db.session, g.readable_village_ids):
        alarms = witness.alarms(db.session, g.readable_village_ids)
        warnings = activity.warnings(db.session, g.readable_village_ids, now=utcnow())
    return render_template(
        "county/index.html",
        form=form,
        overview=overview,
        rows=rows,
        metric=metric,
        metrics=METRICS,
        bars=_bars(rows, metric.key),
        query=request.query_string.decode(),
        alarms=alarms,
        warnings=warnings,
        township=_township(),
    )


@bp.get("/ranking.xlsx")
@require(Permission.COUNTY_READ)
def export():
    form, overview = _overview()
    rows = reports.ranked(overview, form.sort.data)
    data = reports.export_xlsx(overview, rows, form.sort.data)
    return send_file(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"county-{overview.first:%Y-%m}-{overview.last:%Y-%m}-{form.sort.data}.xlsx",
    )


def _overview():
    form = CountyForm(request.args)
    if form.sort.data not in METRIC_KEYS:
        form.sort.data = "issued_per_household"
    first, last = _default_period()
    if form.validate():
        first = _month(form.first.data) or first
        last = _month(form.last.data) or last
    if first > last:
        first, last = last, first
        form.form_errors.append(_("起始月份晚于截止月份，已为你对调。"))
    if len(reports.month_range(first, last)) > MAX_MONTHS:
        first = (last - timedelta(days=31 * (MAX_MONTHS - 1))).replace(day=1)
        form.form_errors.append(_("期间最长 %(n)d 个月，已从截止月份往前截取。", n=MAX_MONTHS))
    form.first.data, form.last.data = f"{first:%Y-%m}", f"{last:%Y-%m}"
    # The one page that reads across villages (here and for its alarms): all those its user may read.
    with scope.across(db.session, g.readable_village_ids):
        overview = reports.county_overview(
            db.session,
            village_ids=g.readable_village_ids,
            first=first,
            last=last,
            total_name=_l("全乡合计") if _township() else None,
        )
    return form, overview


def _township() -> bool:
    """Whether the reader is a township officer (乡镇): the page then speaks of 全乡, not 全县."""
    return Role(current_actor().role) is Role.TOWNSHIP


def _default_period() -> tuple[date, date]:
    last = datetime.now(VILLAGE_TIMEZONE).date().replace(day=1)
    first = last
    for _month_back in range(DEFAULT_MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return first, last


def _month(text: str | None) -> date | None:
    if not text:
        return None
    year, month = (int(part) for part in text.split("-"))
    return date(year, month, 1)


def _bars(rows, key: str) -> list[tuple[str, float, object]]:
    """(village name, bar length 0..1, value) for the ranking chart."""
    values = [r.values[key] for r in rows if r.values[key] is not None]
    top = max((float(v) for v in values), default=0) or 1
    return [
        (r.name, max(0.0, float(r.values[key]) / top), r.values[key])
        for r in rows
        if r.values[key] is not None
    ]
