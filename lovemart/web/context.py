"""Per request: who is acting (session user, or bearer token on the API), which villages they may read,
and which village they are working in. Also feeds templates the few values every page needs.

The request's ORM scope (`lovemart.scope`) is the working village alone, for county users too: a page that
reads across the villages its user may read (the county dashboard) says so with `scope.across`."""

from flask import Flask, abort, current_app, g, has_app_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_login.config import COOKIE_NAME

from lovemart.authz import OVERSIGHT_ROLES, VILLAGE_ROLES, Permission, Role, current_actor, has_permission
from lovemart.db import db
from lovemart.extensions import login_manager
from lovemart.models import Village
from lovemart.scope import ambient_scope, clear
from lovemart.services import sessions, users, villages

WORKING_VILLAGE_KEY = "working_village_id"
#: Where Flask-Login keeps the signed-in user's id in the session.
_USER_ID_KEY = "_user_id"


def register_request_context(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    login_manager.user_loader(_session_user)
    app.before_request(_resolve_actor)
    app.teardown_request(_end_scope)
    app.context_processor(_template_values)
    ambient_scope(_request_scope)


def _request_scope() -> tuple[int, ...] | None:
    """The request's village scope (set by `_resolve_actor`), for every ORM session that has none of its own:
    the request's ORM session is then created only if the page queries. Outside a request, or before the
    actor is known, all villages (the CLI's view), as a session without a scope always read."""
    return g.get("village_scope") if has_app_context() else None


def _end_scope(_error) -> None:
    g.pop("village_scope", None)
    if db.session.registry.has():  # a session a page restricted itself (a villager's, a public wall's)
        clear(db.session)


def _session_user(session_id: str):
    """The signed-in user, if the cookie's server-side session is still open (not signed out)."""
    from lovemart.web.auth import SESSION_KEY

    user = users.load_session_user(db.session, session_id)
    if user is None or not sessions.is_active(db.session, user_id=user.id, token=session.get(SESSION_KEY)):
        return None
    return user


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _resolve_actor() -> None:
    if is_api_request():
        actor = _bearer_user()
    else:
        actor = _signed_in_user()
    if actor is not None:
        db.session.expunge(actor)  # a snapshot: a unit of work's rollback must not make it load again
    g.actor = actor
    g.readable_village_ids = readable = _readable_village_ids(actor)
    g.working_village_id = working = _working_village_choice(actor, readable)
    g.village_scope = None if readable is None else () if working is None else (working,)


def _signed_in_user():
    """The session's user. A request whose session names none and that carries no remember-me cookie is
    anonymous without asking Flask-Login, which would hash the client's address for its session protection
    on every such request (it loads the user lazily if a page asks `current_user` anyway)."""
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)
    if session.get(_USER_ID_KEY) is None and remember_cookie not in request.cookies:
        return None
    return current_user._get_current_object() if current_user.is_authenticated else None


def _bearer_user():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return users.user_for_token(db.session, token.strip())


def _readable_village_ids(actor) -> tuple[int, ...] | None:
    """Villages whose rows the actor may read: none when anonymous, all (None) for the system admin."""
    if actor is None:
        return ()
    role = Role(actor.role)
    if role in VILLAGE_ROLES:
        return (actor.village_id,)
    if role is Role.COUNTY:
        return tuple(villages.county_village_ids(db.session, actor.county_id))
    if role is Role.TOWNSHIP:
        return tuple(villages.township_village_ids(db.session, actor.township_id))
    return None


def working_village() -> Village:
    """The village this request works in: the user's own, or the one a county or township user picked.

    :raise 404: for a user who has no village to work in (the system admin).
    """
    return villages.get(db.session, working_village_id())


def working_village_id() -> int:
    """The id of `working_village()`, without loading it (a view that needs only the id saves a query).

    :raise 404: as `working_village`.
    """
    village_id = g.get("working_village_id")
    if village_id is None:
        abort(404)
    return village_id


def _working_village_choice(actor, readable: tuple[int, ...] | None) -> int | None:
    """The user's own village, or the one a county or township user picked (the session's choice on pages,
    `?village=` on the API; their first village by default). None when there is none: anonymous, the system
    admin, or an API `?village=` the caller may not read (not found, rather than silently another village)."""
    if actor is None or not readable:
        return None
    if Role(actor.role) in VILLAGE_ROLES:
        return actor.village_id
    if is_api_request():
        chosen = request.args.get("village", type=int)
        if chosen is not None and chosen not in readable:
            return None
    else:
        chosen = session.get(WORKING_VILLAGE_KEY)
    return chosen if chosen in readable else readable[0]


def switchable_villages() -> list[Village]:
    """The villages a county or township user may switch between (empty for everyone else)."""
    actor = current_actor()
    if actor is None or Role(actor.role) not in OVERSIGHT_ROLES:
        return []
    return villages.many(db.session, g.readable_village_ids)


def _template_values() -> dict:
    actor = current_actor()
    return {
        "actor": actor,
        "can": lambda permission: has_permission(actor, permission),
        "Permission": Permission,
        "get_locale": get_locale,
    }
