"""System administration: villages with their settings, and staff accounts."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from lovemart.authz import Permission, Role, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.forms.admin import UserForm, UserGroupsForm, VillageForm, VillageSettingsForm
from lovemart.services import users, villages
from lovemart.services.villages import VillageSettings
from lovemart.web.forms import perform, submit

bp = Blueprint("admin", __name__)


@bp.get("/villages")
@require(Permission.SYSTEM_VILLAGE_WRITE)
def villages_index():
    return render_template("admin/villages.html", villages=villages.all_villages(db.session))


@bp.route("/villages/new", methods=["GET", "POST"])
@require(Permission.SYSTEM_VILLAGE_WRITE)
def create_village():
    form = VillageForm()
    if form.validate_on_submit():
        created = perform(
            form,
            villages.create_village,
            county_code=form.county_code.data,
            county_name=form.county_name.data,
            township_name=form.township_name.data,
            code=form.code.data,
            name=form.name.data,
            groups=form.groups.data.splitlines(),
            settings=_settings(form),
        )
        if created is not None:
            flash(_("已创建村。"), "success")
            return redirect(url_for("admin.villages_index"))
    return render_template("admin/village_form.html", form=form, village=None)


@bp.route("/villages/<int:village_id>", methods=["GET", "POST"])
@require(Permission.SYSTEM_VILLAGE_WRITE)
def edit_village(village_id: int):
    village = villages.get(db.session, village_id)
    form = VillageSettingsForm(obj=village)
    if form.validate_on_submit():
        if (
            perform(form, villages.update_settings, village_id=village_id, settings=_settings(form))
            is not None
        ):
            flash(_("已保存。"), "success")
            return redirect(url_for("admin.villages_index"))
    return render_template("admin/village_form.html", form=form, village=village)


@bp.get("/users")
@require(Permission.SYSTEM_USER_WRITE)
def users_index():
    return render_template(
        "admin/users.html", users=users.all_users(db.session), roles={r.value: r.label for r in Role}
    )


@bp.route("/users/new", methods=["GET", "POST"])
@require(Permission.SYSTEM_USER_WRITE)
def create_user():
    form = UserForm(villages=villages.all_villages(db.session))
    if form.validate_on_submit():

        def call():
            with unit_of_work() as session:
                village = villages.get(session, form.village_id.data) if form.village_id.data else None
                return users.create_user(
                    session,
                    actor=current_actor(),
                    username=form.username.data,
                    password=form.password.data,
                    role=form.role.data,
                    display_name=form.display_name.data or "",
                    village=village,
                    household_number=form.household_number.data or "",
                    group_names=users.parse_group_names(form.groups.data or ""),
                ).id

        if submit(form, call) is not None:
            flash(_("已创建用户。"), "success")
            return redirect(url_for("admin.users_index"))
    return render_template("admin/user_form.html", form=form)


@bp.route("/users/<int:user_id>/groups", methods=["GET", "POST"])
@require(Permission.SYSTEM_USER_WRITE)
def user_groups(user_id: int):
    """A grid worker's villager groups (网格员负责的村民小组), replaced as a whole."""
    user = users.get(db.session, user_id)
    form = UserGroupsForm(data={"groups": "，".join(g.name for g in user.groups)})
    if form.validate_on_submit():
        done = perform(
            form, users.set_groups, user_id=user_id, group_names=users.parse_group_names(form.groups.data)
        )
        if done is not None:
            flash(_("已保存 %(u)s 负责的村民小组。", u=user.username), "success")
            return redirect(url_for("admin.users_index"))
    return render_template("admin/user_groups.html", form=form, user=user)


@bp.post("/users/<int:user_id>/active/<int:active>")
@require(Permission.SYSTEM_USER_WRITE)
def set_user_active(user_id: int, active: int):
    with unit_of_work() as session:
        user = users.set_active(session, actor=current_actor(), user_id=user_id, active=bool(active))
    flash(_("已启用 %(u)s。", u=user.username) if active else _("已停用 %(u)s。", u=user.username), "success")
    return redirect(url_for("admin.users_index"))


def _settings(form) -> VillageSettings:
    return VillageSettings(
        base_points=form.base_points.data,
        yuan_per_point=form.yuan_per_point.data,
        card_prefix=form.card_prefix.data or "",
        credit_after_notice=form.credit_after_notice.data,
        notice_days=form.notice_days.data,
        quiet_days=form.quiet_days.data,
        grid_awards_direct=form.grid_awards_direct.data,
        offline_cap_points=form.offline_cap_points.data,
    )
