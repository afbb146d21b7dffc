"""Who may do what, where: roles, permissions, the role→permission table and the `@require` decorator.

Permission values follow `<scope>:<resource>:<action>`; keep each list alphabetised. Village isolation is not
decided here per view: `lovemart.scope` filters every query to the villages the actor may read.
"""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps

from flask import abort, g, request
from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    LEADER = "leader"
    COUNTY = "county"
    TOWNSHIP = "township"
    SYSADMIN = "sysadmin"
    GRID = "grid"

    @property
    def label(self):
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: _l("管理员"),
    Role.SUPERVISOR: _l("监督员"),
    Role.LEADER: _l("组长"),
    Role.COUNTY: _l("县级"),
    Role.TOWNSHIP: _l("乡镇"),
    Role.SYSADMIN: _l("系统管理员"),
    Role.GRID: _l("网格员"),
}

#: Roles bound to exactly one village. A grid worker (网格员) works further inside it: the households of the
#: villager groups linked to their account (`services.grid`), and nothing else of the village.
VILLAGE_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.LEADER, Role.GRID})
#: Read-only roles over several villages: a county's (县级) or a township's (乡镇), one village at a time.
OVERSIGHT_ROLES = frozenset({Role.COUNTY, Role.TOWNSHIP})


class Permission(StrEnum):
    AUDIT_READ = "audit:event:read"
    CARD_WRITE = "points:card:write"
    CLAIM_ACCEPT = "points:claim:accept"
    CLAIM_APPROVE = "points:claim:approve"
    COUNTY_READ = "county:report:read"
    HOUSEHOLD_READ = "household:household:read"
    HOUSEHOLD_WRITE = "household:household:write"
    INSPECTION_WRITE = "points:inspection:write"
    LEDGER_READ = "points:ledger:read"
    LEDGER_WRITE = "points:ledger:write"
    NOTICE_PUBLISH = "notice:notice:publish"
    NOTICE_READ = "notice:notice:read"
    OFFLINE_SETTLE = "shop:offline:settle"
    REDEMPTION_WRITE = "shop:redemption:write"
    ROUND_READ = "grid:round:read"
    ROUND_WRITE = "grid:round:write"
    RULE_WRITE = "points:rule:write"
    SHOP_READ = "shop:goods:read"
    SHOP_WRITE = "shop:goods:write"
    SYSTEM_USER_WRITE = "system:user:write"
    SYSTEM_VILLAGE_WRITE = "system:village:write"
    WALL_MODERATE = "wall:wish:moderate"
    WALL_READ = "wall:wish:read"
    WALL_WRITE = "wall:wish:write"


_VILLAGE_READ = frozenset(
    {
        Permission.HOUSEHOLD_READ,
        Permission.LEDGER_READ,
        Permission.NOTICE_READ,
        Permission.SHOP_READ,
        Permission.WALL_READ,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: _VILLAGE_READ
    | {
        Permission.CARD_WRITE,
        Permission.CLAIM_ACCEPT,
        Permission.HOUSEHOLD_WRITE,
        Permission.INSPECTION_WRITE,
        Permission.LEDGER_WRITE,
        Permission.REDEMPTION_WRITE,
        Permission.SHOP_WRITE,
        Permission.WALL_WRITE,
    },
    Role.SUPERVISOR: _VILLAGE_READ
    | {
        Permission.AUDIT_READ,
        Permission.CLAIM_APPROVE,
        Permission.NOTICE_PUBLISH,
        Permission.OFFLINE_SETTLE,
        Permission.WALL_MODERATE,
    },
    Role.LEADER: _VILLAGE_READ | {Permission.AUDIT_READ, Permission.RULE_WRITE},
    Role.COUNTY: _VILLAGE_READ | {Permission.COUNTY_READ},
    Role.TOWNSHIP: _VILLAGE_READ | {Permission.COUNTY_READ},
    Role.SYSADMIN: frozenset({Permission.SYSTEM_USER_WRITE, Permission.SYSTEM_VILLAGE_WRITE}),
    # Only the households of their own groups (the services refuse any other): no village-wide reading.
    Role.GRID: frozenset({Permission.ROUND_READ, Permission.ROUND_WRITE}),
}

#: Marker for endpoints anyone may reach (sign-in page, static files, health check).
PUBLIC = "public"
#: Marker for endpoints that only need a signed-in user (dashboard, password change).
SIGNED_IN = "signed-in"


def has_permission(user, permission: Permission) -> bool:
    return user is not None and permission in ROLE_PERMISSIONS.get(Role(user.role), frozenset())


def current_actor():
    """The user acting in this request: the bearer-token user on the API, the signed-in user elsewhere."""
    return g.get("actor")


def _deny_anonymous():
    from lovemart.extensions import login_manager

    if request.blueprint and request.blueprint.startswith("api"):
        abort(401)
    return login_manager.unauthorized()


def require(*permissions: Permission) -> Callable:
    """Refuse the view unless the actor holds every permission; marks the view with what it needs."""
    return _guard(permissions, all, permissions or SIGNED_IN)


def require_any(*permissions: Permission) -> Callable:
    """Refuse the view unless the actor holds at least one of the permissions: for an operation two roles
    share on different scopes (the administrator's whole village, the grid worker's groups), where the
    service decides the scope."""
    return _guard(permissions, any, permissions)


def _guard(permissions: tuple[Permission, ...], holds: Callable, mark) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            actor = current_actor()
            if actor is None:
                return _deny_anonymous()
            if not holds(has_permission(actor, p) for p in permissions):
                abort(403)
            return view(*args, **kwargs)

        wrapped.permission = mark
        return wrapped

    return decorator


def signed_in(view: Callable) -> Callable:
    """Any signed-in user."""
    return require()(view)


def public(view: Callable) -> Callable:
    view.permission = PUBLIC
    return view
