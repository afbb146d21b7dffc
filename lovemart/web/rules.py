"""The village's rule catalogue (积分细则): everyone who reads the ledger sees it; the leader (组长) edits it.

Editing or retiring a rule never changes past entries: each entry keeps the points and the rule's name it was
recorded with. The pages say so where it matters.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.forms.rules import RuleForm
from lovemart.models.rules import RuleCategory
from lovemart.services import rules
from lovemart.services.rules import RuleInput
from lovemart.web.context import working_village
from lovemart.web.forms import perform

bp = Blueprint("rules", __name__)


@bp.get("/")
@require(Permission.LEDGER_READ)
def index():
    village = working_village()
    catalogue = rules.catalogue(db.session, village_id=village.id)
    active = [r for r in catalogue if r.active]
    sections = [
        (category, [r for r in active if r.category == category.value])
        for category in RuleCategory
        if any(r.category == category.value for r in active)
    ]
    return render_template(
        "rules/index.html",
        village=village,
        sections=sections,
        retired=[r for r in catalogue if not r.active],
        empty=not catalogue,
    )


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.RULE_WRITE)
def create():
    village = working_village()
    form = RuleForm(category=request.args.get("category", RuleCategory.ENVIRONMENT.value))
    if form.validate_on_submit():
        rule = perform(form, rules.create, village_id=village.id, data=_rule_input(form))
        if rule is not None:
            flash(_("已新增细则“%(name)s”。", name=rule.name), "success")
            return redirect(url_for("rules.index"))
    return render_template("rules/form.html", form=form, rule=None)


@bp.route("/<int:rule_id>/edit", methods=["GET", "POST"])
@require(Permission.RULE_WRITE)
def edit(rule_id: int):
    village = working_village()
    rule = rules.get(db.session, village_id=village.id, rule_id=rule_id)
    form = RuleForm(data=RuleForm.data_of(rule)) if request.method == "GET" else RuleForm()
    if form.validate_on_submit():
        saved = perform(form, rules.update, village_id=village.id, rule_id=rule_id, data=_rule_input(form))
        if saved is not None:
            flash(_("已保存细则“%(name)s”；已记入的积分不变。", name=saved.name), "success")
            return redirect(url_for("rules.index"))
    return render_template("rules/form.html", form=form, rule=rule)


@bp.post("/<int:rule_id>/active")
@require(Permission.RULE_WRITE)
def set_active(rule_id: int):
    """Retire a rule (no new entries under it) or bring it back."""
    village = working_village()
    active = request.form.get("active") == "1"
    with unit_of_work() as session:
        name = rules.set_active(
            session, actor=current_actor(), village_id=village.id, rule_id=rule_id, active=active
        ).name
    if active:
        flash(_("已恢复启用“%(name)s”。", name=name), "success")
    else:
        flash(_("已停用“%(name)s”：不能再按它记分，已记入的积分不变。", name=name), "success")
    return redirect(url_for("rules.index"))


@bp.post("/seed")
@require(Permission.RULE_WRITE)
def seed():
    """Load the Adao catalogue (啊道村示范细则) as a starting point; rules the village has are kept."""
    village = working_village()
    with unit_of_work() as session:
        added = len(rules.seed(session, actor=current_actor(), village_id=village.id))
    flash(_("已载入 %(n)d 条示范细则，可按本村实际修改。", n=added), "success")
    return redirect(url_for("rules.index"))


def _rule_input(form: RuleForm) -> RuleInput:
    return RuleInput(
        name=form.name.data,
        category=form.category.data,
        points=form.points.data,
        description=form.description.data or "",
        cap_per_month=form.cap_per_month.data,
        repeat_points=form.repeat_values(),
        requires_approval=bool(form.requires_approval.data),
        allow_negative=bool(form.allow_negative.data),
    )
