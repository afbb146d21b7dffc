"""`redeem`, `getRedemption`, `cancelRedemption`: the counter's redemption over JSON.

`redeem` needs an `Idempotency-Key` header. The same key with the same body answers 201 with the same body
as the first time (the redemption is made once); the same key with a different body is refused with 422
`idempotency_conflict`. The 201 body holds only what never changes afterwards, so a replay is identical
byte for byte even after a return; `getRedemption` shows the current status.
"""

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.services import cards, redemptions
from lovemart.services.redemptions import MAX_LINES, MAX_QUANTITY, CartLine
from lovemart.web.api.idempotency import RequiredIdempotencyHeader, request_key
from lovemart.web.api.schemas import ApiError, id_field
from lovemart.web.context import working_village_id

blp = Blueprint(
    "api_redemptions", __name__, url_prefix="/redemptions", description="Counter redemptions (兑换)"
)


class CartLineSchema(Schema):
    product_id = id_field(required=True, strict=True)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_QUANTITY))


class RedeemSchema(Schema):
    card_number = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"description": "The number printed on the household's card, e.g. A00012."},
    )
    lines = fields.List(
        fields.Nested(CartLineSchema), required=True, validate=validate.Length(min=1, max=MAX_LINES)
    )


class RedemptionCreatedSchema(Schema):
    id = fields.Integer()
    receipt_no = fields.String()
    card_number = fields.String()
    points_charged = fields.Integer()
    balance_after = fields.Integer(metadata={"description": "The household's balance after this redemption."})
    created_at = fields.DateTime()


class RedemptionLineSchema(Schema):
    product_id = fields.Integer()
    product_name = fields.String()
    unit = fields.String()
    quantity = fields.Integer()
    unit_points = fields.Integer()
    points = fields.Integer()


class RedemptionSchema(RedemptionCreatedSchema):
    status = fields.String(metadata={"description": "completed, or cancelled after a return (退货)."})
    household_id = fields.Integer()
    lines = fields.List(fields.Nested(RedemptionLineSchema))
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String()


class CancelSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


@blp.route("/", methods=["POST"])
@require(Permission.REDEMPTION_WRITE)
@blp.doc(operationId="redeem")
@blp.arguments(RequiredIdempotencyHeader(), location="headers", as_kwargs=True)
@blp.arguments(RedeemSchema())
@blp.response(201, RedemptionCreatedSchema)
@blp.alt_response(
    409,
    schema=ApiError,
    description="Refused, nothing written: insufficient_points, out_of_stock, card_inactive, "
    "household_inactive (moved out), account_frozen.",
)
@blp.alt_response(404, schema=ApiError, description="No card with this number in the caller's village.")
def redeem(body, idempotency_key):
    """Exchange points for goods in one transaction: debit the card's account, take the goods from stock,
    write the ledger entry, the stock movements and the receipt. 422 `idempotency_conflict` when the key was
    used for a different request; 422 `invalid_input` for a missing key or an unknown product."""
    village_id = working_village_id()
    number = body["card_number"].strip().upper()
    lines = [CartLine(line["product_id"], line["quantity"]) for line in body["lines"]]
    with unit_of_work() as session:
        redemption = redemptions.redeem(
            session,
            actor=current_actor(),
            village_id=village_id,
            card_number=number,
            lines=lines,
            idempotency_key=request_key("redeem", idempotency_key),
        )
        created = _created(redemption, number)
    location = url_for("api_redemptions.get_redemption", redemption_id=created["id"])
    return created, 201, {"Location": location}


@blp.route("/<int:redemption_id>", methods=["GET"])
@require(Permission.SHOP_READ)
@blp.doc(operationId="getRedemption")
@blp.response(200, RedemptionSchema)
def get_redemption(redemption_id: int):
    """One redemption with its lines and status; 404 for another village's."""
    return _full(working_village_id(), redemption_id)


@blp.route("/<int:redemption_id>/cancel", methods=["POST"])
@require(Permission.REDEMPTION_WRITE)
@blp.doc(operationId="cancelRedemption")
@blp.arguments(CancelSchema())
@blp.response(200, RedemptionSchema)
@blp.alt_response(409, schema=ApiError, description="Refused: redemption_cancelled (returned already).")
def cancel_redemption(body, redemption_id: int):
    """退货: reversal entries give the points and the goods back; the redemption stays, marked cancelled."""
    village_id = working_village_id()
    with unit_of_work() as session:
        redemptions.cancel(
            session,
            actor=current_actor(),
            village_id=village_id,
            redemption_id=redemption_id,
            reason=body["reason"],
        )
    return _full(village_id, redemption_id)


def _created(redemption, card_number: str) -> dict:
    return {
        "id": redemption.id,
        "receipt_no": redemption.receipt_no,
        "card_number": card_number,
        "points_charged": redemption.total_points,
        "balance_after": redemption.balance_after,
        "created_at": redemption.created_at,
    }


def _full(village_id: int, redemption_id: int) -> dict:
    redemption = redemptions.get(db.session, village_id=village_id, redemption_id=redemption_id)
    card = cards.get(db.session, village_id=village_id, card_id=redemption.card_id)
    return _created(redemption, card.number) | {
        "status": redemption.status,
        "household_id": redemption.household_id,
        "lines": redemptions.lines_of(db.session, redemption.id),
        "cancelled_at": redemption.cancelled_at,
        "cancel_reason": redemption.cancel_reason,
    }
