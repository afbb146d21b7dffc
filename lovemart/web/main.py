"""The signed-in home page, the language switch, the health check and the site icon."""

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from sqlalchemy import text

from lovemart.authz import Permission, Role, current_actor, has_permission, public, signed_in
from lovemart.db import db
from lovemart.services import households
from lovemart.web.context import WORKING_VILLAGE_KEY, switchable_villages, working_village
from lovemart.web.goods import shop_flags
from lovemart.web.i18n import LOCALE_KEY
from lovemart.web.navigation import back_url, safe_path

bp = Blueprint("main", __name__)


@bp.get("/")
@signed_in
def index():
    actor = current_actor()
    if Role(actor.role) is Role.SYSADMIN:
        return redirect(url_for("admin.villages_index"))
    if Role(actor.role) is Role.GRID:
        return redirect(url_for("round.index"))
    village = working_village()
    summary = None
    if has_permission(actor, Permission.HOUSEHOLD_READ):
        summary = households.summary(db.session, village_id=village.id)
    shop = shop_flags(village.id) if has_permission(actor, Permission.SHOP_READ) else None
    return render_template(
        "main/index.html", village=village, summary=summary, villages=switchable_villages(), shop=shop
    )


@bp.post("/village")
@signed_in
def switch_village():
    """County users choose which of their villages they are looking at."""
    chosen = request.form.get("village_id", type=int)
    if chosen in {v.id for v in switchable_villages()}:
        session[WORKING_VILLAGE_KEY] = chosen
    return redirect(back_url())


@bp.get("/lang/<code>")
@public
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session[LOCALE_KEY] = code
    return redirect(safe_path(request.args.get("next")) or url_for("main.index"))


@bp.get("/favicon.ico")
@public
def favicon():
    """The site icon (static/favicon.ico) where browsers ask for it by habit: pages link it too, but a
    browser opening a download or a print dialog still asks /favicon.ico."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon")


@bp.get("/healthz")
@public
def health():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
