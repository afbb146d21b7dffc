"""One place that turns refusals into answers: a flashed Chinese message or an error page for people,
`{"error": {"code", "message"}}` for the API."""

from flask import Flask, flash, jsonify, redirect, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from lovemart.db import db
from lovemart.services.errors import DomainError
from lovemart.web.context import is_api_request
from lovemart.web.navigation import back_url

_HTTP_MESSAGES = {
    400: _l("请求有误。"),
    401: _l("需要有效的访问令牌。"),
    403: _l("您没有权限执行此操作。"),
    404: _l("找不到该页面或记录。"),
    405: _l("不支持该请求方式。"),
    413: _l("上传的文件太大。"),
    422: _l("提交的数据有误。"),
    429: _l("尝试次数过多，请稍后再试。"),
    500: _l("服务器出错了，请稍后再试。"),
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "invalid_input",
    429: "too_many_requests",
    500: "server_error",
}


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(500, _server_error)


def json_error(status: int, code: str, message: str, details=None):
    body = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return jsonify(body), status


def _domain_error(error: DomainError):
    if is_api_request():
        return json_error(error.status, error.code, error.message)
    if error.status == 404:
        return _page(404)
    flash(error.message, "error")
    return redirect(back_url())


def _csrf_error(error: CSRFError):
    if is_api_request():
        return json_error(400, "csrf_failed", _("表单已过期，请刷新页面后重试。"))
    flash(_("表单已过期，请刷新页面后重试。"), "error")
    return redirect(back_url())


def _http_error(error: HTTPException):
    status = error.code or 500
    if is_api_request():
        details = (getattr(error, "data", None) or {}).get("messages")
        message = str(_HTTP_MESSAGES.get(status, error.name))
        return json_error(status, _HTTP_CODES.get(status, "http_error"), message, details)
    return _page(status)


def _server_error(error):
    db.session.rollback()  # a failed statement aborts the transaction on PostgreSQL; the page still reads
    if is_api_request():
        return json_error(500, "server_error", str(_HTTP_MESSAGES[500]))
    return _page(500)


def _page(status: int):
    return error_page(status, str(_HTTP_MESSAGES.get(status, _l("请求未能完成。"))))


def error_page(status: int, message: str):
    template = f"errors/{status}.html" if status in (403, 404, 500) else "errors/generic.html"
    return render_template(template, status=status, message=message), status
