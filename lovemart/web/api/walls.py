"""`postWish`, `listWishes`: the wish wall (心愿墙) over JSON, for the village's staff.

`postWish` records a wish a household gave at the shop; like one posted from the QR page it waits for the
supervisor. An optional `Idempotency-Key` header makes a retried post return the first wish.
"""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db
from lovemart.models.walls import WishCategory, WishStatus
from lovemart.services import walls
from lovemart.web.api.idempotency import IdempotencyHeader, request_key, write
from lovemart.web.api.schemas import PageArgs, page_body, page_of
from lovemart.web.context import working_village_id
from lovemart.web.converters import MAX_ID

blp = Blueprint("api_walls", __name__, url_prefix="/wishes", description="Wish wall (心愿墙)")


class WishSchema(Schema):
    id = fields.Integer(dump_only=True)
    household_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    text = fields.String(required=True, validate=validate.Length(min=1, max=500))
    category = fields.String(required=True, validate=validate.OneOf([c.value for c in WishCategory]))
    status = fields.String(dump_only=True)
    from_villager = fields.Boolean(dump_only=True)
    donor = fields.String(dump_only=True)
    fulfilment = fields.String(dump_only=True)
    thanks = fields.String(dump_only=True)
    decline_reason = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    fulfilled_at = fields.DateTime(dump_only=True, allow_none=True)


class WishQuery(PageArgs):
    status = fields.String(validate=validate.OneOf([s.value for s in WishStatus]))


WishPage = page_of(WishSchema, "WishPage")


@blp.route("/", methods=["GET"])
@require(Permission.WALL_READ)
@blp.doc(operationId="listWishes")
@blp.arguments(WishQuery(), location="query", as_kwargs=True)
@blp.response(200, WishPage)
def list_wishes(page, per_page, status=None, village=None):
    """The village's wishes, newest first; `status` narrows to one state (pending, open, pledged, …)."""
    statuses = [WishStatus(status)] if status else list(WishStatus)
    found = walls.wishes(
        db.session, village_id=working_village_id(), statuses=statuses, page=page, per_page=per_page
    )
    found_items = [_dump(row) for row in found.items]
    return page_body(found) | {"items": found_items}


@blp.route("/", methods=["POST"])
@require(Permission.WALL_WRITE)
@blp.doc(operationId="postWish")
@blp.arguments(IdempotencyHeader(), location="headers", as_kwargs=True)
@blp.arguments(WishSchema())
@blp.response(201, WishSchema)
def post_wish(body, idempotency_key=None):
    """A household's wish, posted by the administrator; 404 for another village's household."""
    actor, village_id = current_actor(), working_village_id()

    def post(session):
        wish = walls.post_wish(
            session,
            actor=actor,
            village_id=village_id,
            household_id=body["household_id"],
            text=body["text"],
            category=body["category"],
            request_key=request_key("wish", idempotency_key),
        )
        return _dump(walls.WishRow(wish, "", "", ""))

    return write(post, retry=idempotency_key is not None)


def _dump(row) -> dict:
    wish = row.wish
    return {
        "id": wish.id,
        "household_id": wish.household_id,
        "text": wish.text,
        "category": wish.category,
        "status": wish.status,
        "from_villager": wish.from_villager,
        "donor": row.donor,
        "fulfilment": wish.fulfilment,
        "thanks": wish.thanks,
        "decline_reason": wish.decline_reason,
        "created_at": wish.created_at,
        "fulfilled_at": wish.fulfilled_at,
    }
