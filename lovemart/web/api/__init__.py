"""The JSON API at /api/v1: bearer-token auth, one error shape, an OpenAPI 3 document from flask-smorest."""

from flask import Flask
from flask_smorest import Api

from lovemart.extensions import csrf


def register_api(app: Flask) -> Api:
    from lovemart.web.api import households

    api = Api(
        app,
        spec_kwargs={
            "info": {"description": "LoveMart 爱心超市积分管理系统 JSON API"},
            "servers": [{"url": "/"}],
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    for blueprint in (households.blp,):
        csrf.exempt(blueprint)  # bearer tokens, never cookies, authenticate API calls
        api.register_blueprint(blueprint, url_prefix=f"/api/v1{blueprint.url_prefix or ''}")
    return api
