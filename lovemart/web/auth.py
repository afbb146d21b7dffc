"""Staff sign-in (throttled), sign-out and password change."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from lovemart.authz import current_actor, public, signed_in
from lovemart.db import db, unit_of_work
from lovemart.extensions import limiter
from lovemart.forms.auth import LoginForm, PasswordForm
from lovemart.services import sessions, throttle, users
from lovemart.web.forms import submit
from lovemart.web.navigation import safe_path

bp = Blueprint("auth", __name__)

#: Where the signed session cookie keeps the id of the server-side session (`services.sessions`).
SESSION_KEY = "sid"


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@public
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        username, address = form.username.data, request.remote_addr or "-"
        if wait := throttle.blocked(db.session, username=username, address=address):
            form.form_errors.append(
                _("密码错误次数太多，请 15 分钟后再试。")
                if wait == throttle.Wait.WINDOW
                else _("该账号近期登录失败次数很多，请 1 分钟后再试。")
            )
            return render_template("auth/login.html", form=form), 429
        # the password hash is checked outside the write transaction: it takes tens of milliseconds
        user = users.authenticate(db.session, username=username, password=form.password.data)
        with unit_of_work() as session:
            if user is None:
                throttle.failed(session, username=username, address=address)
            else:
                throttle.succeeded(session, username=username, address=address)
                token = sessions.start(session, user_id=user.id)
        if user is not None:
            flask_session[SESSION_KEY] = token
            login_user(user)
            return redirect(safe_path(form.next.data) or url_for("main.index"))
        form.form_errors.append(_("用户名或密码不正确。"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@public
def logout():
    with unit_of_work() as session:
        sessions.end(session, token=flask_session.pop(SESSION_KEY, None))
    logout_user()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@signed_in
def password():
    form = PasswordForm()
    if form.validate_on_submit():

        def change():
            with unit_of_work() as session:
                user = users.get(session, current_actor().id)
                users.change_password(
                    session,
                    user=user,
                    old_password=form.old_password.data,
                    new_password=form.new_password.data,
                )
                return user

        user = submit(form, change)
        if user is not None:
            login_user(user)  # the old session id is now stale; keep this one signed in
            flash(_("密码已修改，其他设备上的登录已失效。"), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form)
