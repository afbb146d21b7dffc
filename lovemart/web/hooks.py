"""The extensions' request hooks, made to work only on the requests that need them (issue #20): every page
pays the hooks that run on every request, so an idle hook is a tax on all of them.

- Flask-WTF's CSRF check runs for every request and only then looks at the method: here it is skipped at
  once for the methods it never checks (GET, HEAD, OPTIONS, TRACE), exactly as it would skip them itself.
- Flask-Limiter's before-request check enforces only application, default, blueprint and meta limits; the
  limits LoveMart sets (sign-in, the villagers' card pages) are decorators, checked by the decorated view
  itself. With none of the first kinds configured the hook has nothing to do on any request and is left out;
  configure one (`RATELIMIT_DEFAULT`, `RATELIMIT_APPLICATION`, a blueprint's limit) and it stays. Its
  after-request hook (the X-RateLimit-* and Retry-After headers) and its teardown then run only on a
  request that checked a limit: the others have no limiter state to report or reset.
- Flask's signed-cookie session builds its signing serializer twice a request, even for a request with no
  session cookie: `CookieSessions` keeps one per key and opens a request without a cookie directly. Same
  cookie, same format, same keys (fallbacks included), same answers.
"""

from flask import Flask, current_app, request
from flask.globals import request_ctx
from flask.sessions import SecureCookieSessionInterface

from lovemart.extensions import limiter


def run_hooks_only_when_needed(app: Flask) -> None:
    """Call after every blueprint is registered (a blueprint's limit keeps the limiter's hook)."""
    app.session_interface = CookieSessions()
    hooks = app.before_request_funcs.setdefault(None, [])
    for index, hook in enumerate(hooks):
        if getattr(hook, "__name__", "") == "csrf_protect":
            hooks[index] = _writes_only(hook)
    if not limiter_has_request_wide_limits():
        hooks[:] = [hook for hook in hooks if not _is_limiter_check(hook)]
        if _limiter_keeps_its_state_on_the_request(app):
            for funcs in (app.after_request_funcs.get(None, []), app.teardown_request_funcs.get(None, [])):
                funcs[:] = [_after_a_limit_check(hook) if _is_limiter_hook(hook) else hook for hook in funcs]


def _writes_only(csrf_protect):
    def csrf_protect_writes():
        if request.method in current_app.config["WTF_CSRF_METHODS"]:
            return csrf_protect()
        return None

    return csrf_protect_writes


def limiter_has_request_wide_limits() -> bool:
    """Whether Flask-Limiter's before-request hook would enforce anything: application, default,
    blueprint or meta limits, or in-memory fallback limits (decorated limits are checked by their views).
    An attribute this version of Flask-Limiter does not have counts as a limit: the hook then stays."""
    manager = limiter.limit_manager
    return bool(
        manager.application_limits
        or manager.default_limits
        or getattr(manager, "_blueprint_limits", True)
        or getattr(limiter, "_meta_limits", True)
        or getattr(limiter, "_in_memory_fallback", True)
    )


def _is_limiter_check(hook) -> bool:
    return getattr(hook, "__self__", None) is limiter and hook.__name__ == "_check_request_limit"


def _is_limiter_hook(hook) -> bool:
    """The limiter's after-request (a partial over the limiter) or teardown (a method of it) hook."""
    return getattr(hook, "__self__", None) is limiter or limiter in getattr(hook, "args", ())


#: Where Flask-Limiter keeps a request's state (its `Limiter.context`), created by the first limit check.
_LIMITER_STATE = "_limiter_request_context"


def _limiter_keeps_its_state_on_the_request(app: Flask) -> bool:
    """Whether this Flask-Limiter still keeps a request's state where `_after_a_limit_check` looks."""
    with app.test_request_context():
        limiter.context  # noqa: B018 - creates the state
        return hasattr(request_ctx._get_current_object(), _LIMITER_STATE)


def _after_a_limit_check(hook):
    def when_a_limit_was_checked(value):
        if hasattr(request_ctx._get_current_object(), _LIMITER_STATE):
            return hook(value)
        return value

    return when_a_limit_was_checked


class CookieSessions(SecureCookieSessionInterface):
    def __init__(self):
        self._serializers = {}

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            return None
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            if len(self._serializers) > 8:  # keys rotated many times in one process (tests): start afresh
                self._serializers.clear()
            serializer = self._serializers[key] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app: Flask, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        # Flask's own does nothing for a session neither read nor written nor refreshed: say so up front.
        refreshed = session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]
        if session.accessed or session.modified or refreshed:
            super().save_session(app, session, response)
