"""Marshmallow schemas shared by the API's areas: paging and the page envelope."""

from marshmallow import Schema, fields, validate

from lovemart.web.converters import MAX_ID


def id_field(**kwargs) -> fields.Integer:
    """An object's id: a positive integer the database can hold (a bigger one is a 422, not an overflow)."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=30, validate=validate.Range(min=1, max=200))
    village = id_field(
        metadata={"description": "County users: id of one of their villages (defaults to the first)."}
    )


class PageMeta(Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


def page_of(item_schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {"items": fields.List(fields.Nested(item_schema)), "meta": fields.Nested(PageMeta)}, name=name
    )


def page_body(page) -> dict:
    return {
        "items": page.items,
        "meta": {"page": page.page, "per_page": page.per_page, "total": page.total, "pages": page.pages},
    }


class ErrorDetail(Schema):
    code = fields.String(metadata={"description": "Stable machine name, e.g. not_found, invalid_input."})
    message = fields.String(metadata={"description": "A sentence for people, in the request's language."})
    details = fields.Dict(metadata={"description": "Per-field messages of a rejected request, when any."})


class ApiError(Schema):
    """The one error body of the API (`lovemart.web.errors.json_error`); documents it in the OpenAPI file."""

    error = fields.Nested(ErrorDetail, required=True)
