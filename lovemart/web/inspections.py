"""五净一规范 pages: record one household's inspection, the village's list of households not yet passing (and
those ready for a card), and the monthly round that inspects a whole group on one screen."""

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.forms.inspections import InspectionForm, RoundForm, RoundGroupForm
from lovemart.models.inspections import CHECKS
from lovemart.services import cards, households, inspections, rules, villages
from lovemart.services.inspections import InspectionInput, RoundResult
from lovemart.web.context import working_village
from lovemart.web.forms import submit
from lovemart.web.photos import store_upload

bp = Blueprint("inspections", __name__)


@bp.get("/")
@require(Permission.HOUSEHOLD_READ)
def index():
    village = working_village()
    return render_template(
        "inspections/index.html",
        village=village,
        failing=inspections.not_passing(db.session, village_id=village.id),
        ready=cards.awaiting_card(db.session, village_id=village.id),
        groups=villages.groups(db.session, village.id),
    )


@bp.route("/households/<int:household_id>/new", methods=["GET", "POST"])
@require(Permission.INSPECTION_WRITE)
def record(household_id: int):
    village = working_village()
    household = households.get(db.session, village_id=village.id, household_id=household_id)
    defaults = {"inspected_on": inspections.today(), "inspector": current_actor().display_name}
    form = InspectionForm(data=defaults)
    if form.validate_on_submit():
        passed = record_from_form(form, village_id=village.id, household_id=household_id)
        if passed is not None:
            flash(_("已记录检查：六项全部达标。") if passed else _("已记录检查：未全部达标。"), "success")
            return redirect(url_for("households.detail", household_id=household_id))
    return render_template("inspections/form.html", form=form, household=household, checks=CHECKS)


@bp.get("/round")
@require(Permission.INSPECTION_WRITE)
def group_round():
    """Choose a group, then one row per active household in it, all checks ticked, and a new request key."""
    village = working_village()
    groups = villages.groups(db.session, village.id)
    chooser = RoundGroupForm(request.args, groups=groups)
    if not chooser.group.data:
        return render_template("inspections/round.html", chooser=chooser, form=None)
    group = _group_or_404(groups, chooser.group.data)
    members = inspections.group_households(db.session, village_id=village.id, group_id=group.id)
    form = RoundForm(
        data={
            "group_id": group.id,
            "request_key": secrets.token_urlsafe(16),
            "inspected_on": inspections.today(),
            "inspector": current_actor().display_name,
            "rows": [{"household_id": h.id} for h in members],
        },
        rules=rules.catalogue(db.session, village_id=village.id, include_retired=False),
    )
    return _round_page(chooser, form, group, members)


@bp.post("/round")
@require(Permission.INSPECTION_WRITE)
def submit_round():
    """The whole group in one unit of work; a second copy of the page (same request key) writes nothing."""
    village = working_village()
    groups = villages.groups(db.session, village.id)
    form = RoundForm(rules=rules.catalogue(db.session, village_id=village.id, include_retired=False))
    group = _group_or_404(groups, form.group_id.data)
    if form.validate_on_submit():

        def call():
            with unit_of_work() as session:
                return inspections.record_round(
                    session,
                    actor=current_actor(),
                    village_id=village.id,
                    group_id=group.id,
                    inspected_on=form.inspected_on.data,
                    inspector=form.inspector.data,
                    results=[_round_result(row.form) for row in form.rows],
                    request_key=form.request_key.data,
                )

        outcome = submit(form, call)
        if outcome is not None:
            if outcome.replayed:
                flash(_("这次检查已经提交过了，没有重复记录。"), "success")
            flash(
                _(
                    "已记录 %(n)d 户检查，其中 %(passed)d 户六项全部达标；加减分 %(points)d 条。",
                    n=len(outcome.inspections),
                    passed=outcome.passed,
                    points=len(outcome.recorded),
                ),
                "success",
            )
            return redirect(url_for("inspections.index"))
    chooser = RoundGroupForm(data={"group": str(group.id)}, groups=groups)
    members = inspections.group_households(db.session, village_id=village.id, group_id=group.id)
    return _round_page(chooser, form, group, members)


def _group_or_404(groups, value):
    """The chosen group of the working village; another village's or an unknown id is not found."""
    group = next((g for g in groups if str(g.id) == str(value or "")), None)
    if group is None:
        abort(404)
    return group


def _round_page(chooser, form, group, members):
    return render_template(
        "inspections/round.html",
        chooser=chooser,
        form=form,
        group=group,
        households={h.id: h for h in members},
        checks=CHECKS,
    )


def _round_result(row) -> RoundResult:
    return RoundResult(
        household_id=row.household_id.data,
        checks=row.check_values(),
        rule_id=int(row.rule.data) if (row.rule.data or "").isdigit() else None,
        note=row.note.data or "",
    )


def record_from_form(form, *, village_id: int, household_id: int) -> bool | None:
    """Record the inspection a valid `InspectionForm` describes (its photo stored first); whether the
    household passed, or None with the refusal on the form. The household page and the grid worker's
    round both record through this."""

    def call():
        photo = store_upload(village_id, form.photo.data)
        with unit_of_work() as session:
            return inspections.record(
                session,
                actor=current_actor(),
                village_id=village_id,
                household_id=household_id,
                data=InspectionInput(
                    inspected_on=form.inspected_on.data,
                    inspector=form.inspector.data,
                    checks=form.check_values(),
                    note=form.note.data or "",
                    photo=photo,
                ),
            ).passed

    return submit(form, call)
