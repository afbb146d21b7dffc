"""The grid worker's round (网格员入户): a phone-first list of the households of their villager groups in
group order, and from each row the 五净一规范 inspection and a points proposal with an optional photo.

The services decide what a grid worker may touch (`services.grid`): a household outside their groups is
refused there; these views only turn that refusal into 403.
"""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.forms.inspections import InspectionForm
from lovemart.forms.round import ProposeForm
from lovemart.models.inspections import CHECKS
from lovemart.services import grid, inspections, points, rules
from lovemart.services.errors import OutsideGroups
from lovemart.web.context import working_village
from lovemart.web.forms import submit
from lovemart.web.inspections import record_from_form
from lovemart.web.photos import store_upload

bp = Blueprint("round", __name__)


@bp.get("/")
@require(Permission.ROUND_READ)
def index():
    village = working_village()
    actor = current_actor()
    rows = grid.round_rows(db.session, actor=actor, village_id=village.id)
    return render_template(
        "round/index.html",
        village=village,
        rows=rows,
        groups=grid.groups(db.session, village_id=village.id, user_id=actor.id),
        inspected=sum(1 for r in rows if r.inspected_this_month),
        scored=sum(1 for r in rows if r.scored_this_month),
    )


@bp.route("/households/<int:household_id>/inspect", methods=["GET", "POST"])
@require(Permission.ROUND_WRITE)
def inspect(household_id: int):
    village = working_village()
    household = _household(village.id, household_id)
    defaults = {
        "inspected_on": inspections.today(),
        "inspector": current_actor().display_name,
        **{column: True for column, _label in CHECKS},
    }
    form = InspectionForm(data=defaults)
    if form.validate_on_submit():
        passed = record_from_form(form, village_id=village.id, household_id=household_id)
        if passed is not None:
            flash(
                _("%(who)s：六项全部达标。", who=_name(household))
                if passed
                else _("%(who)s：未全部达标，已记录。", who=_name(household)),
                "success",
            )
            return _back_to(household_id)
    return render_template("round/inspect.html", form=form, household=household, checks=CHECKS)


@bp.route("/households/<int:household_id>/score", methods=["GET", "POST"])
@require(Permission.ROUND_WRITE)
def score(household_id: int):
    village = working_village()
    household = _household(village.id, household_id)
    form = ProposeForm(rules=rules.catalogue(db.session, village_id=village.id, include_retired=False))
    if form.validate_on_submit():

        def call():
            evidence = store_upload(village.id, form.photo.data)
            with unit_of_work() as session:
                return points.award(
                    session,
                    actor=current_actor(),
                    village_id=village.id,
                    household_id=household_id,
                    rule_id=form.rule_id.data,
                    note=form.note.data or "",
                    evidence=evidence,
                    request_key=f"round:{form.request_key.data}",
                )

        recorded = submit(form, call)
        if recorded is not None:
            if recorded.entry is not None:
                outcome = _("已记入 %(points)+d 分", points=recorded.entry.points)
            elif recorded.claim.status == "pending":
                outcome = _("%(points)+d 分已提交，待监督员审核", points=recorded.claim.points)
            else:
                outcome = _("%(points)+d 分已提交，公示后入账", points=recorded.claim.points)
            flash(_("%(who)s：%(outcome)s", who=_name(household), outcome=outcome), "success")
            return _back_to(household_id)
    return render_template(
        "round/score.html", form=form, household=household, direct=village.grid_awards_direct
    )


def _household(village_id: int, household_id: int):
    try:
        return grid.round_household(
            db.session, actor=current_actor(), village_id=village_id, household_id=household_id
        )
    except OutsideGroups:
        abort(403)


def _name(household) -> str:
    head = household.head
    return f"{household.number} {head.name}" if head else household.number


def _back_to(household_id: int):
    return redirect(url_for("round.index", _anchor=f"h{household_id}"))
