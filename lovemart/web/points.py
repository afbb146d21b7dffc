"""The points ledger pages (积分台账): the village's entries, awarding and deducting for one household or a
batch, reversals (冲正), the supervisor's approval queue and the administrator's queue of villagers'
applications (积分申报).

Every writing form carries a request key made when the page was shown: a double click, or the same form sent
twice, is recorded once and answered with the first result.
"""

import tempfile
from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _

from lovemart.authz import Permission, current_actor, has_permission, require
from lovemart.db import db, unit_of_work
from lovemart.forms.points import (
    AwardForm,
    BatchForm,
    HouseholdSearchForm,
    LedgerFilterForm,
    RefuseForm,
    ReverseForm,
)
from lovemart.models.points import ClaimStatus, EntryKind
from lovemart.services import cards, ledger_export, notices, points, rankings, rules, villages
from lovemart.services.points import VILLAGE_TIMEZONE, EntryFilter, Outcome
from lovemart.services.rankings import Who
from lovemart.web.context import is_api_request, working_village
from lovemart.web.forms import submit
from lovemart.web.photos import store_upload

bp = Blueprint("points", __name__)


# ---- the village ledger ---------------------------------------------------------------------------------


@bp.get("/")
@require(Permission.LEDGER_READ)
def index():
    village = working_village()
    catalogue = rules.catalogue(db.session, village_id=village.id)
    form = LedgerFilterForm(request.args, rules=catalogue)
    form.validate()
    rule = form.rule.data or ""
    dates_ok = not (form.date_from.errors or form.date_to.errors)
    filters = EntryFilter(
        search=form.q.data or "",
        rule_id=int(rule) if rule.isdigit() else None,
        kind=form.kind.data if form.kind.data in {k.value for k in EntryKind} else None,
        date_from=form.date_from.data if dates_ok else None,
        date_to=form.date_to.data if dates_ok else None,
    )
    page = points.entries(
        db.session,
        village_id=village.id,
        filters=filters,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
    )
    this_year = datetime.now(VILLAGE_TIMEZONE).year
    return render_template(
        "points/index.html",
        village=village,
        form=form,
        page=page,
        this_year=this_year,
        waiting=points.waiting(db.session, village_id=village.id),
        household_balance=_one_household_balance(village.id, filters, page.items),
    )


@bp.get("/ranking")
@require(Permission.LEDGER_READ)
def ranking():
    """积分排行: the village's households by net points of a month, all of them or only the 党员户
    (`?month=2026-11&who=party`; plain links and a GET form, no script)."""
    village = working_village()
    months = _recent_months(12)
    month = next((m for m in months if m.strftime("%Y-%m") == request.args.get("month")), months[0])
    who = Who.parse(request.args.get("who"))
    rows = rankings.household_ranking(
        db.session, village_id=village.id, first=month, last=_month_end(month), who=who
    )
    return render_template(
        "points/ranking.html", village=village, rows=rows, months=months, month=month, who=who, Who=Who
    )


def _recent_months(count: int) -> list[date]:
    """The first days of the current local month and the `count - 1` before it, newest first."""
    current = datetime.now(VILLAGE_TIMEZONE).date().replace(day=1)
    months = [current]
    while len(months) < count:
        months.append((months[-1] - timedelta(days=1)).replace(day=1))
    return months


def _month_end(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)


@bp.get("/ledger.xlsx")
@require(Permission.LEDGER_READ)
def export_ledger():
    """A year of the village's ledger as .xlsx, written in chunks to a temporary file and then sent."""
    village = working_village()
    year = request.args.get("year", type=int) or datetime.now(VILLAGE_TIMEZONE).year
    target = tempfile.TemporaryFile()  # noqa: SIM115 - send_file closes it after the response
    try:
        ledger_export.export_year(db.session, village_id=village.id, year=year, target=target)
    except BaseException:
        target.close()
        raise
    target.seek(0)
    return send_file(
        target,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"{village.code}-ledger-{year}.xlsx",
    )


@bp.get("/entries/<int:entry_id>")
@require(Permission.LEDGER_READ)
def entry(entry_id: int):
    village = working_village()
    row = points.entry_row(db.session, village_id=village.id, entry_id=entry_id)
    return render_template("points/entry.html", village=village, row=row)


# ---- awarding and deducting -----------------------------------------------------------------------------


@bp.route("/award", methods=["GET", "POST"])
@require(Permission.LEDGER_WRITE)
def award():
    """Award or deduct by a rule for one household. The household is found by number or a member's name
    (a GET search that narrows the list), then picked; the form posts back to the same address."""
    village = working_village()
    search = HouseholdSearchForm(request.args)
    search.validate()
    term = search.q.data or ""
    holders = points.holders(db.session, village_id=village.id, search=term)
    form = AwardForm(
        holders=holders,
        card_numbers=cards.active_numbers(
            db.session, village_id=village.id, household_ids=[h.household_id for h in holders]
        ),
        rules=rules.catalogue(db.session, village_id=village.id, include_retired=False),
    )
    if request.method == "GET":
        chosen = request.args.get("household", type=int)
        if chosen is None and term and len(holders) == 1:
            chosen = holders[0].household_id
        form.household_id.data = chosen
    if form.validate_on_submit():

        def call():
            evidence = store_upload(village.id, form.photo.data)
            with unit_of_work() as session:
                recorded = points.award(
                    session,
                    actor=current_actor(),
                    village_id=village.id,
                    household_id=form.household_id.data,
                    rule_id=form.rule_id.data,
                    note=form.note.data or "",
                    evidence=evidence,
                    request_key=f"award:{form.request_key.data}",
                )
                return _award_outcome(session, village, recorded)

        outcome = submit(form, call)
        if outcome is not None:
            who = next((str(h) for h in holders if h.household_id == form.household_id.data), "")
            flash(_("%(who)s：%(outcome)s", who=who, outcome=outcome) if who else outcome, "success")
            return redirect(url_for("points.award"))
    return render_template(
        "points/award.html", village=village, form=form, search=search, term=term, found=len(holders)
    )


@bp.route("/batch", methods=["GET", "POST"])
@require(Permission.LEDGER_WRITE)
def batch():
    """One rule for many households of a group (e.g. a collective labour day): all recorded, or none."""
    village = working_village()
    groups = villages.groups(db.session, village.id)
    wanted = (
        request.form.get("group_id", type=int)
        if request.method == "POST"
        else request.args.get("group", type=int)
    )
    group = next((g for g in groups if g.id == wanted), None)
    if request.method == "POST" and group is None:
        abort(404)
    members = points.holders(db.session, village_id=village.id, group_id=group.id) if group else []
    form = BatchForm(
        rules=rules.catalogue(db.session, village_id=village.id, include_retired=False),
        group_id=group.id if group else "",
    )
    if request.method == "GET":
        form.households.data = [h.household_id for h in members] if request.args.get("all") == "1" else []
    if form.validate_on_submit():

        def call():
            with unit_of_work() as session:
                done = points.award_batch(
                    session,
                    actor=current_actor(),
                    village_id=village.id,
                    household_ids=form.households.data or [],
                    rule_id=form.rule_id.data,
                    note=form.note.data or "",
                    request_key=f"batch:{form.request_key.data}",
                )
                return _batch_outcome(done)

        outcome = submit(form, call)
        if outcome is not None:
            flash(outcome, "success")
            return redirect(url_for("points.index"))
    return render_template(
        "points/batch.html",
        village=village,
        form=form,
        groups=groups,
        group=group,
        members=members,
        balances=points.balances(
            db.session, village_id=village.id, account_ids=[h.account_id for h in members]
        ),
        checked=set(form.households.data or []),
    )


@bp.route("/entries/<int:entry_id>/reverse", methods=["GET", "POST"])
@require(Permission.LEDGER_WRITE)
def reverse(entry_id: int):
    """Correct a wrong entry with a reversal entry (冲正) that names it, after showing what will be undone."""
    village = working_village()
    row = points.entry_row(db.session, village_id=village.id, entry_id=entry_id)
    form = ReverseForm()
    if form.validate_on_submit():

        def call():
            with unit_of_work() as session:
                reversal = points.reverse(
                    session,
                    actor=current_actor(),
                    village_id=village.id,
                    entry_id=entry_id,
                    reason=form.reason.data,
                    request_key=f"reverse:{form.request_key.data}",
                )
                return reversal.points, reversal.balance_after

        done = submit(form, call)
        if done is not None:
            flash(
                _("已冲正 %(points)+d 分，余额 %(balance)d 分。", points=done[0], balance=done[1]), "success"
            )
            return redirect(url_for("statements.show", household_id=row.household.household_id))
    return render_template("points/reverse.html", village=village, row=row, form=form)


# ---- claims: the supervisor's approvals and the administrator's applications ------------------------------


@bp.get("/approvals")
@require(Permission.CLAIM_APPROVE)
def approvals():
    village = working_village()
    queue = points.claim_queue(db.session, village_id=village.id, status=ClaimStatus.PENDING)
    return render_template("points/approvals.html", village=village, queue=queue)


@bp.post("/claims/<int:claim_id>/approve")
@require(Permission.CLAIM_APPROVE)
def approve(claim_id: int):
    village = working_village()
    with unit_of_work() as session:
        claim = points.approve(session, actor=current_actor(), village_id=village.id, claim_id=claim_id)
        if claim.status == ClaimStatus.PUBLICIZING:
            message = _(
                "已审核通过；%(points)d 分公示中，列入下一期公示，公示期满无异议后入账。", points=claim.points
            )
        else:
            message = _("已审核通过，记入 %(points)d 分。", points=claim.points)
    flash(message, "success")
    return redirect(url_for("points.approvals"))


@bp.post("/claims/<int:claim_id>/reject")
@require(Permission.CLAIM_APPROVE)
def reject(claim_id: int):
    return _refuse(claim_id, ClaimStatus.PENDING, _("已驳回，不记入积分。"), "points.approvals")


@bp.get("/applications")
@require(Permission.CLAIM_ACCEPT)
def applications():
    village = working_village()
    queue = points.claim_queue(db.session, village_id=village.id, status=ClaimStatus.SUBMITTED)
    return render_template("points/applications.html", village=village, queue=queue)


@bp.post("/claims/<int:claim_id>/accept")
@require(Permission.CLAIM_ACCEPT)
def accept(claim_id: int):
    village = working_village()
    with unit_of_work() as session:
        claim = points.accept(session, actor=current_actor(), village_id=village.id, claim_id=claim_id)
        if claim.status == ClaimStatus.PENDING:
            message = _("已受理；该细则需监督员审核，已提交待审。")
        elif claim.status == ClaimStatus.PUBLICIZING:
            message = _(
                "已受理；%(points)d 分公示中，列入下一期公示，公示期满无异议后入账。", points=claim.points
            )
        else:
            message = _("已受理，记入 %(points)d 分。", points=claim.points)
    flash(message, "success")
    return redirect(url_for("points.applications"))


@bp.post("/claims/<int:claim_id>/decline")
@require(Permission.CLAIM_ACCEPT)
def decline(claim_id: int):
    return _refuse(claim_id, ClaimStatus.SUBMITTED, _("已不予受理，村民会看到原因。"), "points.applications")


def _refuse(claim_id: int, expected: ClaimStatus, message: str, queue: str):
    """Reject a pending claim or decline an application, with the reason from the queue's form."""
    village = working_village()
    form = RefuseForm()
    if not form.validate():
        for errors in form.errors.values():
            flash(errors[0], "error")
        return redirect(url_for(queue))
    with unit_of_work() as session:
        points.reject(
            session,
            actor=current_actor(),
            village_id=village.id,
            claim_id=claim_id,
            reason=form.reason.data or "",
            expected=expected,
        )
    flash(message, "success")
    return redirect(url_for(queue))


# ---- navigation counts ----------------------------------------------------------------------------------


@bp.app_context_processor
def _navigation():
    return {"claim_counts": claim_counts}


def claim_counts() -> dict[str, int]:
    """Claims waiting for the acting user: `approve` (supervisor) and `accept` (administrator).

    Counted once per request, and only for a role that decides them: one COUNT on an index each.
    """
    if "claim_counts" not in g:
        actor = current_actor()
        counts = {"approve": 0, "accept": 0}
        if actor is not None and actor.village_id is not None and not is_api_request():
            for key, permission, status in (
                ("approve", Permission.CLAIM_APPROVE, ClaimStatus.PENDING),
                ("accept", Permission.CLAIM_ACCEPT, ClaimStatus.SUBMITTED),
            ):
                if has_permission(actor, permission):
                    counts[key] = points.open_claim_count(
                        db.session, village_id=actor.village_id, status=status
                    )
        g.claim_counts = counts
    return g.claim_counts


# ---- helpers --------------------------------------------------------------------------------------------


def _one_household_balance(village_id: int, filters: EntryFilter, rows) -> tuple | None:
    """When the ledger is searched down to one household: (its label, its `Balance`) for the line above the
    table, so its points 公示中 show beside the balances of its rows; None otherwise."""
    households = {row.household.account_id: row.household for row in rows}
    if not filters.search.strip() or len(households) != 1:
        return None
    ((account_id, label),) = households.items()
    return label, points.balance_of(db.session, village_id=village_id, account_id=account_id)


def _award_outcome(session, village, recorded: points.Recorded) -> str:
    """What became of one award, in its own words: credited, held 公示中, waiting for the supervisor, or (a
    form sent again after the claim was rejected) refused; with the household's points as they now stand."""
    outcome = recorded.outcome
    if outcome == Outcome.CREDITED:
        return _(
            "已记入 %(points)d 分，余额 %(balance)d 分",
            points=recorded.entry.points,
            balance=recorded.entry.balance_after,
        )
    claim = recorded.claim
    if outcome == Outcome.REFUSED:
        return _("这笔记分已被驳回，没有入账。")
    balance = points.balance_of(session, village_id=village.id, account_id=claim.account_id)
    if outcome == Outcome.HELD:
        if claim.notice_id is not None:
            notice = notices.get(session, village_id=village.id, notice_id=claim.notice_id)
            where = _(
                "已列入 %(start)s 至 %(end)s 的公示",
                start=notice.period_start.isoformat(),
                end=notice.period_end.isoformat(),
            )
        else:
            where = _("将列入下一期公示")
        return _(
            "已记录 %(points)d 分，公示中：%(where)s，公示期满无异议后入账。",
            points=claim.points,
            where=where,
        ) + _("现可用 %(balance)d 分，另有 %(held)d 分公示中", balance=balance.spendable, held=balance.held)
    if village.credit_after_notice and claim.points > 0:
        then = _("审核通过后列入公示，公示期满无异议后入账")
    else:
        then = _("审核通过后入账")
    said = _(
        "已记录 %(points)d 分，该细则需监督员审核，已提交待审，%(then)s。", points=claim.points, then=then
    )
    if claim.points <= 0:  # a deduction waiting: nothing more is coming to the household
        return said
    return said + _(
        "现可用 %(balance)d 分，另有 %(pending)d 分待审核", balance=balance.spendable, pending=balance.pending
    )


def _batch_outcome(done: list[points.Recorded]) -> str:
    """What became of a batch, by outcome: households credited, held 公示中, waiting for the supervisor."""
    by_outcome: dict[Outcome, list[points.Recorded]] = {}
    for recorded in done:
        by_outcome.setdefault(recorded.outcome, []).append(recorded)
    parts = []
    if credited := by_outcome.get(Outcome.CREDITED):
        parts.append(
            _(
                "已为 %(n)d 户记入积分，共 %(total)d 分。",
                n=len(credited),
                total=sum(r.points for r in credited),
            )
        )
    if held := by_outcome.get(Outcome.HELD):
        parts.append(
            _(
                "%(n)d 户的加分共 %(total)d 分公示中，列入下一期公示，公示期满无异议后入账。",
                n=len(held),
                total=sum(r.points for r in held),
            )
        )
    if waiting := by_outcome.get(Outcome.PENDING):
        parts.append(_("%(n)d 户的记分需监督员审核，已提交待审。", n=len(waiting)))
    if refused := by_outcome.get(Outcome.REFUSED):
        parts.append(_("%(n)d 户的记分已被驳回，没有入账。", n=len(refused)))
    return "".join(parts)
