"""The audit log of the working village and the supervisor's signals, for the supervisor and the leader."""

from datetime import timedelta

from flask import Blueprint, render_template, request

from lovemart.authz import Permission, require
from lovemart.db import db, utcnow
from lovemart.forms.audit import SYSTEM, AuditFilterForm, PeriodForm
from lovemart.services import activity, audit_log, audit_names, offline, signals
from lovemart.services.audit_log import LogFilter
from lovemart.services.inventory import today
from lovemart.web.context import working_village

bp = Blueprint("audit", __name__)

#: The signals look back this far by default.
SIGNAL_DAYS = 30


@bp.get("/")
@require(Permission.AUDIT_READ)
def index():
    village = working_village()
    form = AuditFilterForm(request.args, people=audit_log.people(db.session, village_id=village.id))
    valid = form.validate()
    person = form.person.data or ""
    filters = LogFilter(
        actor_id=int(person) if person.isdigit() else None,
        system_only=person == SYSTEM,
        kind=form.kind.data or None,
        tag=(form.action.data or None) if valid else None,
        first=form.first.data if valid else None,
        last=form.last.data if valid else None,
    )
    page = audit_log.events(
        db.session, village_id=village.id, filters=filters, page=request.args.get("page", 1, type=int)
    )
    lines = audit_names.describe(db.session, village_id=village.id, events=page.items)
    return render_template("audit/index.html", village=village, form=form, page=page, lines=lines)


@bp.get("/<int:event_id>")
@require(Permission.AUDIT_READ)
def event(event_id: int):
    village = working_village()
    found = audit_log.event(db.session, village_id=village.id, event_id=event_id)
    (line,) = audit_names.describe(db.session, village_id=village.id, events=[found], detail=True)
    return render_template("audit/event.html", line=line)


@bp.get("/signals")
@require(Permission.AUDIT_READ)
def signal_list():
    village = working_village()
    form = PeriodForm(request.args)
    valid = form.validate()
    last = (form.last.data if valid else None) or today()
    first = (form.first.data if valid else None) or last - timedelta(days=SIGNAL_DAYS - 1)
    form.first.data, form.last.data = first, last
    found = signals.signals(db.session, village_id=village.id, first=first, last=last)
    now = utcnow()
    return render_template(
        "audit/signals.html",
        village=village,
        form=form,
        signals=found,
        titles=signals.TITLES,
        quiet=activity.quiet_households(db.session, village_id=village.id, now=now),
        warnings=activity.warnings(db.session, [village.id], now=now),
        offline_pending=len(offline.pending(db.session, village_id=village.id)),
        offline_gaps=sum(len(g.missing) for g in offline.gaps(db.session, village_id=village.id)),
    )
