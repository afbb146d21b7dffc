"""Household registry pages: list and search, detail, create and edit, members, import and export."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.forms.households import (
    HouseholdFilterForm,
    HouseholdForm,
    ImportConfirmForm,
    ImportForm,
    MemberForm,
    NewHouseholdForm,
)
from lovemart.models.households import HouseholdStatus, Relation
from lovemart.services import cards, households, inspections, spreadsheets, villages
from lovemart.services.households import HouseholdFilter, HouseholdInput, MemberInput
from lovemart.web import uploads
from lovemart.web.context import working_village
from lovemart.web.forms import perform, submit

bp = Blueprint("households", __name__)


@bp.get("/")
@require(Permission.HOUSEHOLD_READ)
def index():
    village = working_village()
    groups = villages.groups(db.session, village.id)
    form = HouseholdFilterForm(request.args, groups=groups)
    form.validate()
    active = {"1": True, "0": False}.get(form.active.data or "1")
    filters = HouseholdFilter(
        search=form.q.data or "",
        group_id=int(form.group.data) if form.group.data in {str(g.id) for g in groups} else None,
        status=form.status.data or None,
        active=active,
    )
    page = households.search(
        db.session,
        village_id=village.id,
        filters=filters,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
    )
    return render_template("households/index.html", village=village, form=form, page=page)


@bp.get("/<int:household_id>")
@require(Permission.HOUSEHOLD_READ)
def detail(household_id: int):
    village = working_village()
    household = households.get(db.session, village_id=village.id, household_id=household_id)
    return render_template(
        "households/detail.html",
        village=village,
        household=household,
        cards=cards.for_household(db.session, village_id=village.id, household_id=household_id),
        inspections=inspections.history(db.session, village_id=village.id, household_id=household_id),
    )


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.HOUSEHOLD_WRITE)
def create():
    village = working_village()
    form = NewHouseholdForm(groups=villages.groups(db.session, village.id))
    if form.validate_on_submit():
        head = MemberInput(
            name=form.head_name.data,
            relation=Relation.HEAD.value,
            gender=form.head_gender.data,
            birth_year=form.head_birth_year.data,
            party_member=form.head_party_member.data,
        )

        household = perform(
            form, households.create, village_id=village.id, data=_household_input(form), members=[head]
        )
        if household is not None:
            flash(_("已登记新户。"), "success")
            return redirect(url_for("households.detail", household_id=household.id))
    return render_template("households/form.html", form=form, household=None)


@bp.route("/<int:household_id>/edit", methods=["GET", "POST"])
@require(Permission.HOUSEHOLD_WRITE)
def edit(household_id: int):
    village = working_village()
    household = households.get(db.session, village_id=village.id, household_id=household_id)
    form = HouseholdForm(obj=household, groups=villages.groups(db.session, village.id))
    if form.validate_on_submit():
        updated = perform(
            form,
            households.update,
            village_id=village.id,
            household_id=household_id,
            data=_household_input(form),
        )
        if updated is not None:
            flash(_("已保存。"), "success")
            return redirect(url_for("households.detail", household_id=household_id))
    return render_template("households/form.html", form=form, household=household)


@bp.post("/<int:household_id>/active")
@require(Permission.HOUSEHOLD_WRITE)
def set_active(household_id: int):
    village = working_village()
    active = request.form.get("active") == "1"
    with unit_of_work() as session:
        households.set_active(
            session, actor=current_actor(), village_id=village.id, household_id=household_id, active=active
        )
    flash(_("已恢复为在册户。") if active else _("已标记为迁出。"), "success")
    return redirect(url_for("households.detail", household_id=household_id))


@bp.route("/<int:household_id>/members/new", methods=["GET", "POST"])
@require(Permission.HOUSEHOLD_WRITE)
def add_member(household_id: int):
    village = working_village()
    household = households.get(db.session, village_id=village.id, household_id=household_id)
    form = MemberForm()
    if form.validate_on_submit():
        added = perform(
            form,
            households.add_member,
            village_id=village.id,
            household_id=household_id,
            member=_member_input(form),
        )
        if added is not None:
            flash(_("已添加成员。"), "success")
            return redirect(url_for("households.detail", household_id=household_id))
    return render_template("households/member_form.html", form=form, household=household, member=None)


@bp.route("/<int:household_id>/members/<int:member_id>/edit", methods=["GET", "POST"])
@require(Permission.HOUSEHOLD_WRITE)
def edit_member(household_id: int, member_id: int):
    village = working_village()
    household = households.get(db.session, village_id=village.id, household_id=household_id)
    member = next((m for m in household.members if m.id == member_id), None)
    if member is None:
        abort(404)
    form = MemberForm(obj=member)
    if form.validate_on_submit():
        updated = perform(
            form,
            households.update_member,
            village_id=village.id,
            household_id=household_id,
            member_id=member_id,
            member=_member_input(form),
        )
        if updated is not None:
            flash(_("已保存。"), "success")
            return redirect(url_for("households.detail", household_id=household_id))
    return render_template("households/member_form.html", form=form, household=household, member=member)


@bp.post("/<int:household_id>/members/<int:member_id>/delete")
@require(Permission.HOUSEHOLD_WRITE)
def remove_member(household_id: int, member_id: int):
    village = working_village()
    with unit_of_work() as session:
        households.remove_member(
            session,
            actor=current_actor(),
            village_id=village.id,
            household_id=household_id,
            member_id=member_id,
        )
    flash(_("已删除成员。"), "success")
    return redirect(url_for("households.detail", household_id=household_id))


@bp.route("/import", methods=["GET", "POST"])
@require(Permission.HOUSEHOLD_WRITE)
def import_upload():
    """Step 1: upload a roster; every row is checked and shown before anything is written."""
    village = working_village()
    form = ImportForm()
    if form.validate_on_submit():
        file = form.file.data
        rows = submit(form, lambda: spreadsheets.read_roster(file.filename, file.read()))
        if rows is not None:
            upload = uploads.save(village.id, file.filename, rows)
            return redirect(url_for("households.import_preview", upload=upload))
    return render_template("households/import.html", form=form, village=village, columns=spreadsheets.COLUMNS)


@bp.get("/import/template.xlsx")
@require(Permission.HOUSEHOLD_WRITE)
def import_template():
    """A roster to fill in: the columns in order and one example row that imports as it is."""
    village = working_village()
    return send_file(
        spreadsheets.roster_template(db.session, village_id=village.id),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{village.code}-roster-template.xlsx",
    )


@bp.get("/import/<upload>")
@require(Permission.HOUSEHOLD_WRITE)
def import_preview(upload: str):
    village = working_village()
    _filename, rows = uploads.load(village.id, upload)
    plan = spreadsheets.plan_import(db.session, village_id=village.id, rows=rows)
    return render_template(
        "households/import_preview.html",
        village=village,
        plan=plan,
        form=ImportConfirmForm(upload=upload),
        statuses={s.value: s.label for s in HouseholdStatus},
    )


@bp.post("/import/confirm")
@require(Permission.HOUSEHOLD_WRITE)
def import_confirm():
    """Step 2: import all rows in one transaction, or nothing if any row has become invalid meanwhile."""
    village = working_village()
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("households.import_upload"))
    filename, rows = uploads.load(village.id, form.upload.data)
    with unit_of_work() as session:
        created = spreadsheets.import_rows(
            session, actor=current_actor(), village_id=village.id, filename=filename, rows=rows
        )
    uploads.discard(village.id, form.upload.data)
    flash(_("已导入 %(n)d 户。", n=len(created)), "success")
    return redirect(url_for("households.index"))


@bp.get("/export.xlsx")
@require(Permission.HOUSEHOLD_READ)
def export():
    village = working_village()
    data = spreadsheets.export_households(db.session, village_id=village.id)
    return send_file(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{village.code}-households.xlsx",
    )


def _household_input(form) -> HouseholdInput:
    return HouseholdInput(
        number=form.number.data,
        group_id=form.group_id.data,
        address=form.address.data or "",
        phone=form.phone.data or "",
        status=form.status.data,
    )


def _member_input(form) -> MemberInput:
    return MemberInput(
        name=form.name.data,
        relation=form.relation.data,
        gender=form.gender.data,
        birth_year=form.birth_year.data,
        party_member=form.party_member.data,
    )
