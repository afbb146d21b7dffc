"""Public notices (公示): the supervisor compiles a month, reviews the draft, publishes it and prints it for
the notice board, and answers the objections (异议) households raise; everyone in the village reads them.

Besides the staff pages under /notices this blueprint serves, with no sign-in, a published notice by the
token of its public URL (/n/<token>, printed as a QR code on the paper copy), and the villager's own pages
behind the card (/me/notices to object to a line, /me/objections to read the answers).

When a notice's objection period is over, its held awards (公示后入账) are credited by
`flask --app wsgi lovemart settle-notices` from cron, or by the supervisor's 结算入账 button, which the
notice list shows while something is due (pages never write on GET).
"""

import json
from functools import partial
from pathlib import Path
from types import SimpleNamespace

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

from lovemart import notekey, qr, verify_notice
from lovemart.authz import Permission, current_actor, has_permission, public, require
from lovemart.db import db, unit_of_work
from lovemart.forms.notices import AnswerForm, CompileForm, ObjectionForm, PublishForm
from lovemart.models import Card
from lovemart.models.donations import DonorKind
from lovemart.models.notices import NoticeStatus
from lovemart.scope import restrict
from lovemart.services import accounts, checkpoints, notices
from lovemart.services.errors import NotFound
from lovemart.services.rankings import Who
from lovemart.web.context import is_api_request, working_village
from lovemart.web.forms import perform, submit
from lovemart.web.villager import private, villager_page

bp = Blueprint("notices", __name__)


@bp.context_processor
def _labels() -> dict:
    """Names for the codes a notice's content holds (it stores codes, so the notice reads in any language)."""
    return {
        "entry_label": accounts.entry_label,
        "donor_kind": lambda kind: DonorKind(kind).label,
        "source_label": lambda source: {"donation": _("捐赠"), "purchase": _("采购")}.get(source, _("其他")),
    }


@bp.app_context_processor
def _navigation() -> dict:
    return {"open_objections": open_objections}


def open_objections() -> int:
    """Objections waiting for the supervisor's answer, for the menu: counted once a request, for them only."""
    if "open_objections" not in g:
        actor = current_actor()
        g.open_objections = (
            notices.open_objection_count(db.session, village_id=actor.village_id)
            if actor is not None
            and actor.village_id is not None
            and not is_api_request()
            and has_permission(actor, Permission.NOTICE_PUBLISH)
            else 0
        )
    return g.open_objections


# ---- staff pages ----------------------------------------------------------------------------------------


@bp.get("/notices/")
@require(Permission.NOTICE_READ)
def index():
    village = working_village()
    form = CompileForm(month=notices.last_month(notices.local_today())[0], days=village.notice_days)
    return _index(village, form)


@bp.post("/notices/compile")
@require(Permission.NOTICE_PUBLISH)
def compile_month():
    """编制: the draft of a month, made (or made again) from the books."""
    village = working_village()
    form = CompileForm()
    if form.validate_on_submit():
        start, end = notices.month_period(form.month.data)
        notice = perform(
            form,
            notices.compile,
            village_id=village.id,
            period_start=start,
            period_end=end,
            days=form.days.data,
            honour_roll=form.honour_roll.data,
        )
        if notice is not None:
            flash(_("已生成公示草稿，请逐项核对后发布。"), "success")
            return redirect(url_for("notices.detail", notice_id=notice.id))
    return _index(village, form), 422


@bp.post("/notices/settle")
@require(Permission.NOTICE_PUBLISH)
def settle():
    """结算入账: credit the held awards of this village's notices whose objection period is over. Clicking
    twice settles nothing more."""
    village = working_village()
    with unit_of_work() as session:
        settled = len(notices.settle_due(session, village_id=village.id))
    if settled:
        flash(_("%(n)d 期公示的异议期已满，公示中的积分已入账。", n=settled), "success")
    else:
        flash(_("没有需要结算的公示。"), "info")
    return redirect(url_for("notices.index"))


@bp.get("/notices/<int:notice_id>")
@require(Permission.NOTICE_READ)
def detail(notice_id: int):
    """A draft to review, or a published notice with its seal and its objections."""
    village = working_village()
    notice = notices.get(db.session, village_id=village.id, notice_id=notice_id)
    published = notice.status == NoticeStatus.PUBLISHED
    return render_template(
        "notices/detail.html",
        village=village,
        notice=notice,
        doc=notices.document(notice),
        objections=notices.notice_objections(db.session, village_id=village.id, notice_id=notice.id),
        digest_ok=published and notices.verify_digest(notice),
        chain_ok=published and notices.chain_holds(db.session, notice),
        objection_open=notices.objection_open(notice),
        public_url=public_url(notice) if published else None,
        checkpoint=_checkpoint(notice),
        roll_who=Who.parse(request.args.get("who")).value,
    )


@bp.post("/notices/<int:notice_id>/compile")
@require(Permission.NOTICE_PUBLISH)
def recompile(notice_id: int):
    """Compile a draft again from the books as they are now (after a correction, or when they changed)."""
    village = working_village()
    notice = notices.get(db.session, village_id=village.id, notice_id=notice_id)
    with unit_of_work() as session:
        notices.compile(
            session,
            actor=current_actor(),
            village_id=village.id,
            period_start=notice.period_start,
            period_end=notice.period_end,
            days=notice.days,
            honour_roll=notice.honour_roll,
        )
    flash(_("已按台账重新生成草稿。"), "success")
    return redirect(url_for("notices.detail", notice_id=notice_id))


@bp.route("/notices/<int:notice_id>/publish", methods=["GET", "POST"])
@require(Permission.NOTICE_PUBLISH)
def publish(notice_id: int):
    """发布, after a confirmation: exactly the draft shown there is published, and then never changes."""
    village = working_village()
    notice = notices.get(db.session, village_id=village.id, notice_id=notice_id)
    if notice.status == NoticeStatus.PUBLISHED:
        return redirect(url_for("notices.detail", notice_id=notice.id))
    form = PublishForm(reviewed=notices.sha256(notice.content))
    if form.validate_on_submit():
        done = perform(
            form, notices.publish, village_id=village.id, notice_id=notice_id, reviewed=form.reviewed.data
        )
        if done is not None:
            flash(_("公示已发布。请打印张贴到公示栏，公示期内村民可以提出异议。"), "success")
            return redirect(url_for("notices.detail", notice_id=notice_id))
    doc = notices.document(notice)
    return render_template("notices/publish.html", village=village, notice=notice, doc=doc, form=form)


@bp.get("/notices/<int:notice_id>/print")
@require(Permission.NOTICE_READ)
def printable(notice_id: int):
    """The A4 copy for the notice board, with the seal and a QR code of the public page."""
    village = working_village()
    notice = notices.get(db.session, village_id=village.id, notice_id=notice_id)
    if notice.status != NoticeStatus.PUBLISHED:
        raise NotFound()
    url, checkpoint = public_url(notice), _checkpoint(notice)
    return render_template(
        "print/notice.html",
        notice=notice,
        doc=notices.document(notice),
        public_url=url,
        qr_svg=qr.svg(url),
        checkpoint=checkpoint,
        checkpoint_qr=qr.svg(checkpoint.note) if checkpoint else None,
    )


@bp.get("/notices/objections")
@require(Permission.NOTICE_READ)
def objections():
    village = working_village()
    return render_template(
        "notices/objections.html",
        village=village,
        waiting=notices.objection_queue(db.session, village_id=village.id),
        answered=notices.objection_queue(db.session, village_id=village.id, answered=True, limit=30),
    )


@bp.get("/notices/objections/<int:objection_id>")
@require(Permission.NOTICE_READ)
def objection(objection_id: int):
    village = working_village()
    row = notices.objection_row(db.session, village_id=village.id, objection_id=objection_id)
    return render_template("notices/objection.html", village=village, row=row, form=AnswerForm())


@bp.post("/notices/objections/<int:objection_id>/answer")
@require(Permission.NOTICE_PUBLISH)
def answer(objection_id: int):
    """答复: upheld ends in a reversal (or the held award is dropped); the household reads the answer."""
    village = working_village()
    row = notices.objection_row(db.session, village_id=village.id, objection_id=objection_id)
    form = AnswerForm()
    if form.validate_on_submit():
        done = perform(
            form,
            notices.answer,
            village_id=village.id,
            objection_id=objection_id,
            decision=form.decision.data,
            answer=form.answer.data,
        )
        if done is not None:
            flash(_("已答复，村民扫码即可看到。"), "success")
            return redirect(url_for("notices.objections"))
    return render_template("notices/objection.html", village=village, row=row, form=form), 422


# ---- the public page of a published notice --------------------------------------------------------------


@bp.get("/n/<notice_token>")
@public
def public_notice(notice_token: str):
    """A published notice for anyone holding its URL (the QR code on the paper copy); drafts never show."""
    notice = _published(notice_token)
    page = render_template(
        "public/notice.html",
        notice=notice,
        doc=notices.document(notice),
        digest_ok=notices.verify_digest(notice),
        checkpoint=_checkpoint(notice),
        roll_who=Who.parse(request.args.get("who")).value,
    )
    return private(current_app.make_response(page))


@bp.get("/n/<notice_token>/bundle.json")
@public
def public_bundle(notice_token: str):
    """The notice's checkpoint with every ledger line and its proofs, for `verify_notice.py`."""
    notice = _published(notice_token)
    found = checkpoints.bundle(db.session, notice, notices.document(notice))
    if found is None:
        abort(404)
    response = current_app.response_class(
        json.dumps(found, ensure_ascii=False, indent=1), mimetype="application/json"
    )
    response.headers["Content-Disposition"] = f"attachment; filename=notice-{notice.period_start:%Y-%m}.json"
    return private(response)


@bp.get("/n/verify_notice.py")
@public
def verifier():
    """The standalone verifier itself (one file, standard library only), to run on a downloaded bundle."""
    response = send_file(Path(verify_notice.__file__), mimetype="text/x-python", as_attachment=True)
    return private(response)


@bp.get("/n/<notice_token>/content.json")
@public
def public_content(notice_token: str):
    """The content exactly as published, so that anyone can check its SHA-256 against the printed digest."""
    notice = _published(notice_token)
    return private(current_app.response_class(notice.content, mimetype="application/json"))


def _checkpoint(notice):
    """What the seal shows of the notice's checkpoint, or None (a draft, or published before checkpoints)."""
    found = checkpoints.of_notice(db.session, notice) if notice.status == NoticeStatus.PUBLISHED else None
    if found is None:
        return None
    key = notekey.notice_key()
    return SimpleNamespace(
        origin=found.origin,
        size=found.size,
        note=found.note,
        fingerprint=checkpoints.fingerprint(found.root),
        key_id=key.key_id.hex(),
        vkey=key.vkey,
    )


def _published(notice_token: str):
    notice = notices.published_by_token(db.session, notice_token)
    if notice is None:
        abort(404)
    restrict(db.session, (notice.village_id,))
    return notice


def public_url(notice) -> str:
    """The absolute URL of the public page, on `PUBLIC_BASE_URL` when set (like `cards.villager_url`)."""
    if base := current_app.config.get("PUBLIC_BASE_URL"):
        return base.rstrip("/") + url_for("notices.public_notice", notice_token=notice.token)
    return url_for("notices.public_notice", notice_token=notice.token, _external=True)


# ---- the villager's pages behind the card ---------------------------------------------------------------


@bp.get("/me/notices")
@villager_page
def villager_notices(card: Card):
    """The notices still open to objections, with the household's own lines, and the latest past ones."""
    past = notices.past_published(db.session, village_id=card.village_id)
    return render_template("public/notices.html", current=_open_notices(card), past=past)


@bp.route("/me/notices/<notice_token>/objection", methods=["GET", "POST"])
@villager_page
def raise_objection(card: Card, notice_token: str):
    """提出异议 about one line (`?entry=` a ledger entry, `?claim=` a held award) of the household's own."""
    entry_id, claim_id = request.args.get("entry", type=int), request.args.get("claim", type=int)
    current = next((n for n in _open_notices(card) if n.notice.token == notice_token), None)
    line = notices.line_in(current.section, entry_id=entry_id, claim_id=claim_id) if current else None
    if line is None:
        raise NotFound()
    form = ObjectionForm()
    if form.validate_on_submit():
        call = partial(
            _raise,
            village_id=card.village_id,
            household_id=card.household_id,
            notice_token=notice_token,
            entry_id=entry_id,
            claim_id=claim_id,
            text=form.text.data,
            request_key=f"objection:{form.request_key.data}",
        )
        if submit(form, call) is not None:
            flash(_("异议已提交，村里核实后会在这里答复您。"), "success")
            return redirect(url_for("notices.villager_objections"))
    return render_template("public/notice_objection.html", notice=current.notice, line=line, form=form)


@bp.get("/me/objections")
@villager_page
def villager_objections(card: Card):
    village_id, household_id = card.village_id, card.household_id
    rows = notices.household_objections(db.session, village_id=village_id, household_id=household_id)
    return render_template("public/notice_objections.html", rows=rows)


def _open_notices(card: Card) -> list[notices.VillagerNotice]:
    return notices.villager_notices(db.session, village_id=card.village_id, household_id=card.household_id)


def _index(village, form: CompileForm):
    page = notices.listing(
        db.session,
        village_id=village.id,
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
    )
    due = has_permission(current_actor(), Permission.NOTICE_PUBLISH) and notices.has_due(
        db.session, village_id=village.id
    )
    return render_template("notices/index.html", village=village, page=page, form=form, due=due)


def _raise(**kwargs) -> int:
    with unit_of_work() as session:
        return notices.raise_objection(session, **kwargs).id
