"""Security headers on every response. Pages load scripts and styles only from this site (no inline
script: the CSP would block it, and tests/web/test_security_headers.py checks the templates), are never
framed, and send a Referer only to this site (`same-origin`; with `no-referrer` a browser sends `Origin: null`
even from our own forms, which the Origin check below could not tell from a forgery). Responses that set
their own stricter headers (the villager's pages) keep them.

A state-changing request (POST, PUT, PATCH, DELETE) whose `Origin` — or, when the browser sends none, whose
`Referer` — is another site than this one (the request's own scheme and host, or `PUBLIC_BASE_URL`) is a 403,
whatever its CSRF token says: the token proves the form was ours, the origin that our page sent it. A request
with neither header (an old browser, a script) is left to the CSRF token. A bearer-token API call that carries
no cookie is exempt: its credential is not ambient, a page on another site cannot make a browser attach it,
so there is nothing to forge (and API clients need not send an Origin).

A request for a host the site is not configured for (`ALLOWED_HOSTS` and the host of `PUBLIC_BASE_URL`, any
port) is refused before anything else runs: absolute links (a card's QR code, a notice's address) are built
from the request's host when no public address is configured, so they can only ever name a trusted one.

A request carrying a NUL byte or a lone surrogate (`"\\ud800"`, half of a UTF-16 pair) in its query or in
any string or key of its JSON body is refused before any view runs: no person types one, PostgreSQL cannot
store or even compare a NUL, and no encoding can write a lone surrogate. (Form fields drop both with the
other control characters, see `lovemart.forms.base.clean`; in a path they match no route, see
`lovemart.web.converters`.) A JSON body nested deeper than `MAX_JSON_DEPTH` is refused before it is parsed:
Python's parser recurses once per level, and no request of the API nests more than a few levels."""

import json
import re
from functools import lru_cache
from itertools import accumulate
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_babel import gettext as _

from lovemart.forms.base import UNSTORABLE
from lovemart.web.context import is_api_request
from lovemart.web.errors import error_page, json_error

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), geolocation=(), microphone=()",
}

#: (name, its lower case, value), for `_headers`: it looks each name up in a set of the response's own.
_HEADER_ITEMS = tuple((name, name.lower(), value) for name, value in HEADERS.items())
_HSTS = ("Strict-Transport-Security", "strict-transport-security", "max-age=31536000")

#: The deepest JSON body accepted; the API's own bodies nest three levels (a cart's lines).
MAX_JSON_DEPTH = 32
_UNSTORABLE = re.compile(f"[{UNSTORABLE}]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_A_BRACKET = re.compile(rb"[^\[\]{}]")


def register_security_headers(app: Flask) -> None:
    def _refuse_unknown_host():
        if _hostname(request.host) not in allowed_hosts():
            return _refusal(
                "unknown_host", _("本站不接受这个网址的访问，请使用本站配置的地址（ALLOWED_HOSTS）。")
            )
        return None

    def _refuse_foreign_origin():
        if request.method in _STATE_CHANGING and not _bearer_without_cookies():
            source = request.headers.get("Origin") or _origin_of(request.headers.get("Referer"))
            if source is not None and source.lower() not in _own_origins():
                return _refusal("foreign_origin", _("来自其他网站的请求已被拒绝，请在本站页面上操作。"), 403)
        return None

    hooks = app.before_request_funcs.setdefault(None, [])
    hooks[:0] = [_refuse_unknown_host, _refuse_foreign_origin]  # before any other hook

    @app.before_request
    def _refuse_unstorable_input():
        if not request.environ.get("QUERY_STRING") and not request.environ.get("CONTENT_TYPE"):
            return None  # no query, no body type (so no JSON): nothing to look at
        if _json_too_deep():
            return _refusal("too_deep", _("请求的数据嵌套层数过多。"))
        if any(_UNSTORABLE.search(text) for text in _query_and_json_text()):
            return _refusal("control_character", _("请求中含有不允许的控制字符。"))
        return None

    @app.after_request
    def _headers(response):
        headers = response.headers
        present = {name.lower() for name in headers.keys()}  # a view's own (stricter) headers stay
        for name, lower, value in (*_HEADER_ITEMS, _HSTS) if request.is_secure else _HEADER_ITEMS:
            if lower not in present:
                headers.add(name, value)
        return response


def allowed_hosts() -> frozenset[str]:
    """The host names (without port, lower case) this site answers to."""
    config = current_app.config
    return _hosts(tuple(config["ALLOWED_HOSTS"]), config.get("PUBLIC_BASE_URL"))


@lru_cache(maxsize=16)
def _hosts(allowed: tuple[str, ...], public: str | None) -> frozenset[str]:
    hosts = {host.lower().strip("[]") for host in allowed}
    if public:
        hosts.add((urlsplit(public).hostname or "").lower())
    return frozenset(hosts)


def _hostname(host: str) -> str:
    """`host:port` without the port, `[::1]:8000` as `::1`, in lower case."""
    if host.startswith("["):
        return host[1 : host.find("]")].lower()
    return host.partition(":")[0].lower()


_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _bearer_without_cookies() -> bool:
    return request.headers.get("Authorization", "").startswith("Bearer ") and "Cookie" not in request.headers


def _origin_of(url: str | None) -> str | None:
    """`scheme://host[:port]` of a URL (a Referer), as a browser writes an Origin; None for no URL, or for a
    partial one (`/points/approvals`), which names this site."""
    parts = urlsplit(url or "")
    if not parts.netloc:
        return None
    return f"{parts.scheme or request.scheme}://{parts.netloc.rpartition('@')[2]}"


def _own_origins() -> set[str]:
    own = {f"{request.scheme}://{request.host}".lower()}
    if public := current_app.config.get("PUBLIC_BASE_URL"):
        own.add((_origin_of(public) or "").lower())
    return own


def _refusal(code: str, message: str, status: int = 400):
    return json_error(status, code, message) if is_api_request() else error_page(status, message)


def _json_too_deep() -> bool:
    """Whether the JSON body opens more than `MAX_JSON_DEPTH` brackets at once, counted outside its strings
    without parsing it (a body with fewer brackets than that in all is never counted)."""
    if not request.is_json:
        return False
    body = request.get_data(cache=True)
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    brackets = _NOT_A_BRACKET.sub(b"", _JSON_STRING.sub(b"", body))
    return max(accumulate(1 if b in b"[{" else -1 for b in brackets)) > MAX_JSON_DEPTH


def _query_and_json_text():
    """Every value of the query, then every string and key of the JSON body (a body that does not parse is
    left to the view's own parser, which refuses it)."""
    yield from request.args.values()
    if not request.is_json:
        return
    try:
        pending = [json.loads(request.get_data(cache=True))]
    except ValueError:
        return
    while pending:  # depth-first without recursion; the depth is bounded by `_json_too_deep` anyway
        value = pending.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            yield from value.keys()
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
