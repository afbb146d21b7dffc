"""Security headers on every response. Pages load scripts and styles only from this site (no inline
script: the CSP would block it, and tests/web/test_security_headers.py checks the templates), are never
framed, and send no Referer. Responses that set their own stricter policy (the villager's pages) keep it.

A request carrying a NUL byte in its query or JSON body is refused before any view runs: no person types
one, and PostgreSQL cannot store or even compare it. (Form fields drop control characters instead, see
`lovemart.forms.base.clean`; in a path a NUL matches no route, see `lovemart.web.converters`.)"""

from flask import Flask, request
from flask_babel import gettext as _

from lovemart.web.context import is_api_request
from lovemart.web.errors import error_page, json_error

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), geolocation=(), microphone=()",
}


def register_security_headers(app: Flask) -> None:
    @app.before_request
    def _refuse_nul():
        if any("\x00" in v for v in request.args.values()) or _json_has_nul():
            message = _("请求中含有不允许的控制字符。")
            if is_api_request():
                return json_error(400, "control_character", message)
            return error_page(400, message)
        return None

    @app.after_request
    def _headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def _json_has_nul() -> bool:
    if not request.is_json:
        return False
    body = request.get_data(as_text=True)
    return "\\u0000" in body or "\x00" in body
