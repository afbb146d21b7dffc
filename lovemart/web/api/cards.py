"""`issueCard`."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from lovemart.authz import Permission, current_actor, require
from lovemart.db import unit_of_work
from lovemart.services import cards
from lovemart.web.api.schemas import ApiError
from lovemart.web.cards import villager_url
from lovemart.web.context import working_village_id

blp = Blueprint("api_cards", __name__, url_prefix="/households", description="Point cards (积分卡)")


class CardSchema(Schema):
    id = fields.Integer()
    household_id = fields.Integer()
    number = fields.String(metadata={"description": "The printed card number (village prefix + serial)."})
    status = fields.String(metadata={"description": "active, lost or recovered."})
    issued_at = fields.DateTime()
    villager_url = fields.Function(
        lambda card: villager_url(card.token),
        metadata={"description": "The household's own page, encoded in the card's QR code. Keep it secret."},
    )


@blp.route("/<int:household_id>/card", methods=["POST"])
@require(Permission.CARD_WRITE)
@blp.doc(operationId="issueCard")
@blp.response(201, CardSchema)
@blp.alt_response(
    409, schema=ApiError, description="Refused: inspection_not_passed, already_has_card, household_inactive."
)
def issue_card(household_id: int):
    """Issue a household's first card (its latest inspection must have passed all six checks); the village's
    base points are credited as the account's first entry."""
    village_id = working_village_id()
    with unit_of_work() as session:
        card = cards.issue(session, actor=current_actor(), village_id=village_id, household_id=household_id)
    return card
