"""The offline counter's pages: the counter devices (the administrator registers this browser and switches
offline use on), the offline counter page a service worker keeps for when the network is down, the snapshot
and sync endpoints its script talks to, and the supervisor's queue of offline redemptions to settle.

The device is known by a cookie (its random token, path /counter, HttpOnly): nothing of the device's identity
lives in script storage, which a browser may evict. The rules are in `lovemart.services.offline`.
"""

from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from lovemart.authz import Permission, current_actor, public, require
from lovemart.db import db, unit_of_work, utcnow
from lovemart.forms.offline import DeviceOfflineForm, RegisterDeviceForm, SettleForm
from lovemart.services import offline
from lovemart.services.errors import DomainError, InvalidInput, OfflineNotAllowed
from lovemart.web.context import working_village
from lovemart.web.errors import json_error
from lovemart.web.forms import perform

bp = Blueprint("offline", __name__)

DEVICE_COOKIE = "lovemart_counter_device"
#: How far back the supervisor's queue lists devices' wrong clocks.
SKEW_DAYS = 30


def this_device(village_id: int):
    token = request.cookies.get(DEVICE_COOKIE)
    return offline.device_by_token(db.session, village_id=village_id, token=token)


@bp.after_request
def _never_cached(response):
    """Balances and stock change with every sale: the offline copy is the service worker's, not the HTTP
    cache's."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/devices")
@require(Permission.REDEMPTION_WRITE)
def devices():
    village = working_village()
    return render_template(
        "offline/devices.html",
        village=village,
        devices=offline.devices(db.session, village_id=village.id),
        this_device=this_device(village.id),
        form=RegisterDeviceForm(),
        toggle=DeviceOfflineForm(),
    )


@bp.post("/devices")
@require(Permission.REDEMPTION_WRITE)
def register():
    village = working_village()
    form = RegisterDeviceForm()
    device = None
    if form.validate_on_submit():
        device = perform(form, offline.register_device, village_id=village.id, name=form.name.data)
    if device is None:
        for errors in (form.name.errors, form.form_errors):
            for message in errors:
                flash(message, "error")
        return redirect(url_for("offline.devices"))
    flash(_("本设备已登记为“%(name)s”。", name=device.name), "success")
    response = redirect(url_for("offline.devices"))
    response.set_cookie(
        DEVICE_COOKIE,
        device.token,
        max_age=int(timedelta(days=5 * 365).total_seconds()),
        path="/counter",
        secure=request.is_secure,
        httponly=True,
        samesite="Strict",
    )
    return response


@bp.post("/devices/<int:device_id>/offline")
@require(Permission.REDEMPTION_WRITE)
def switch(device_id: int):
    village = working_village()
    form = DeviceOfflineForm()
    if form.validate_on_submit():
        device = perform(
            form, offline.set_offline, village_id=village.id, device_id=device_id, enabled=form.enabled.data
        )
        if device is not None:
            if device.offline_enabled:
                flash(_("已允许“%(name)s”离线兑换。", name=device.name), "success")
            else:
                flash(_("已停止“%(name)s”离线兑换。", name=device.name), "success")
    return redirect(url_for("offline.devices"))


@bp.get("/offline")
@require(Permission.REDEMPTION_WRITE)
def counter():
    """The offline counter: a page that works from the device's own copy (static/js/offline-counter.js)."""
    village = working_village()
    return render_template("offline/counter.html", village=village, device=this_device(village.id))


@bp.get("/sw.js")
@public
def service_worker():
    """Served from /counter/ so that its scope is the counter's pages (a worker's scope is its own folder)."""
    response = send_from_directory(current_app.static_folder + "/js", "counter-sw.js", max_age=0)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    return response


@bp.get("/snapshot")
@require(Permission.REDEMPTION_WRITE)
def snapshot():
    village = working_village()
    device = this_device(village.id)
    snap = offline.snapshot(db.session, village_id=village.id)
    return jsonify(
        {
            "village": village.code,
            "taken_at": snap.taken_at.isoformat(),
            "cap_points": snap.cap_points,
            "cards": snap.cards,
            "products": snap.products,
            "device": _device_json(device),
            "csrf_token": generate_csrf(),
        }
    )


@bp.post("/sync")
@require(Permission.REDEMPTION_WRITE)
def sync():
    """Each record in its own transaction, in order; the answer says what became of each."""
    village = working_village()
    device = this_device(village.id)
    if device is None or not device.offline_enabled:
        refusal = OfflineNotAllowed()
        return json_error(refusal.status, refusal.code, refusal.message)
    try:
        sent_at, records = offline.read_batch(request.get_json(silent=True))
    except InvalidInput as refusal:
        return json_error(422, refusal.code, refusal.message, {"field": refusal.field})
    skew = offline.clock_skew(sent_at)
    results = []
    for record in records:
        try:
            with unit_of_work() as session:
                outcome = offline.apply(
                    session,
                    actor=current_actor(),
                    village_id=village.id,
                    device_id=device.id,
                    record=record,
                    skew_seconds=skew,
                )
            results.append(
                {
                    "seq": outcome.seq,
                    "key": outcome.request_key,
                    "status": outcome.status,
                    "receipt_no": outcome.receipt_no,
                    "problem": outcome.problem,
                }
            )
        except DomainError as refusal:  # IdempotencyConflict, or the device switched off meanwhile
            results.append(
                {
                    "seq": record.seq,
                    "key": record.request_key,
                    "status": "refused",
                    "problem": refusal.message,
                }
            )
    gaps = [g.missing for g in offline.gaps(db.session, village_id=village.id) if g.device.id == device.id]
    return jsonify(
        {
            "results": results,
            "missing": gaps[0] if gaps else [],
            "clock_skew_seconds": skew,
            "clock_wrong": abs(skew) > offline.MAX_CLOCK_SKEW.total_seconds(),
        }
    )


@bp.get("/offline/queue")
@require(Permission.SHOP_READ)
def queue():
    """The supervisor's queue: offline redemptions waiting for a decision, gaps, devices with wrong clocks."""
    village = working_village()
    since = utcnow() - timedelta(days=SKEW_DAYS)
    return render_template(
        "offline/queue.html",
        village=village,
        pending=offline.pending(db.session, village_id=village.id),
        gaps=offline.gaps(db.session, village_id=village.id),
        skewed=offline.skewed(db.session, village_id=village.id, since=since),
        form=SettleForm(),
        max_skew_minutes=int(offline.MAX_CLOCK_SKEW.total_seconds() // 60),
    )


@bp.post("/offline/<int:record_id>/settle")
@require(Permission.OFFLINE_SETTLE)
def settle(record_id: int):
    village = working_village()
    offline.get_record(db.session, village_id=village.id, record_id=record_id)  # another village's: 404
    form = SettleForm()
    done = None
    if form.validate_on_submit():
        done = perform(
            form,
            offline.settle,
            village_id=village.id,
            record_id=record_id,
            accept=form.decision.data == "accept",
            reason=form.reason.data,
        )
    if done is None:
        for errors in (form.decision.errors, form.reason.errors, form.form_errors):
            for message in errors:
                flash(message, "error")
    else:
        status = done.status_label
        flash(_("已处理离线小票 %(no)s：%(status)s。", no=done.provisional_no, status=status), "success")
    return redirect(url_for("offline.queue"))


def _device_json(device) -> dict | None:
    if device is None:
        return None
    return {
        "id": device.id,
        "name": device.name,
        "enabled": device.offline_enabled,
        "last_seq": device.last_seq,
    }
