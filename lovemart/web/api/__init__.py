"""The JSON API at /api/v1: bearer-token auth, one error shape, an OpenAPI 3 document from flask-smorest."""

from flask import Flask
from flask_smorest import Api

from lovemart.extensions import csrf
from lovemart.web.api.schemas import ApiError


class LoveMartApi(Api):
    ERROR_SCHEMA = ApiError  # what `lovemart.web.errors` really answers, not flask-smorest's own shape


def register_api(app: Flask) -> Api:
    from lovemart.web.api import (
        cards,
        goods,
        households,
        inspections,
        notices,
        points,
        redemptions,
        round,
        walls,
    )

    api = LoveMartApi(
        app,
        spec_kwargs={
            "info": {"description": "LoveMart 爱心超市积分管理系统 JSON API"},
            "servers": [{"url": "/"}],
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    for blueprint in (
        households.blp,
        inspections.blp,
        cards.blp,
        points.blp,
        goods.blp,
        redemptions.blp,
        notices.blp,
        walls.blp,
        round.blp,
    ):
        csrf.exempt(blueprint)  # bearer tokens, never cookies, authenticate API calls
        api.register_blueprint(blueprint, url_prefix=f"/api/v1{blueprint.url_prefix or ''}")
    return api
