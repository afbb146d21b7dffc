"""`listMyHouseholds`, `proposePoints`: the grid worker's round (网格员) over the API. Their inspections go
through `recordInspection`, which a grid worker may call for the households of their groups.

The services refuse a household outside the caller's groups (`outside_groups`, 403) and another village's
(404); the caller's proposals wait for the supervisor unless the village lets them count at once.
"""

import base64
import binascii

from flask import jsonify
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db
from lovemart.services import grid, photos, points
from lovemart.services.errors import InvalidInput
from lovemart.web.api.idempotency import IdempotencyHeader, request_key, write
from lovemart.web.api.points import _REFUSALS_409, ClaimSchema, EntrySchema
from lovemart.web.api.schemas import ApiError, id_field
from lovemart.web.context import working_village_id
from lovemart.web.photos import writing_store

blp = Blueprint("api_round", __name__, url_prefix="/round", description="The grid worker's round (网格员)")

#: A photo of at most photos.MAX_BYTES, base64-encoded (4 characters for 3 bytes).
_PHOTO_CHARACTERS = (photos.MAX_BYTES + 2) // 3 * 4


class RoundHouseholdSchema(Schema):
    id = fields.Integer(attribute="household.id")
    number = fields.String(attribute="household.number")
    head = fields.String()
    group = fields.String()
    last_inspected_on = fields.Date(attribute="inspected_on", allow_none=True)
    last_passed = fields.Boolean(attribute="passed", allow_none=True)
    inspected_this_month = fields.Boolean()
    month_points = fields.Integer(metadata={"description": "Awards and deductions entered this month."})
    pending_points = fields.Integer(metadata={"description": "Proposed, waiting for the supervisor."})
    pending_count = fields.Integer()
    has_account = fields.Boolean(metadata={"description": "False before the first card: cannot be scored."})


class RoundList(Schema):
    items = fields.List(fields.Nested(RoundHouseholdSchema))


class ProposedClaimSchema(ClaimSchema):
    evidence = fields.String(allow_none=True, metadata={"description": "The stored photo's name, if any."})


class ProposedEntrySchema(EntrySchema):
    evidence = fields.String(allow_none=True, metadata={"description": "The stored photo's name, if any."})


class ProposalSchema(Schema):
    rule_id = id_field(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=500))
    photo = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=_PHOTO_CHARACTERS),
        metadata={"description": "Optional evidence photo (JPEG, PNG or WebP), base64-encoded."},
    )


@blp.route("/households", methods=["GET"])
@require(Permission.ROUND_READ)
@blp.doc(operationId="listMyHouseholds")
@blp.response(200, RoundList)
def list_my_households():
    """The caller's households (those of their villager groups), group by group in the village's order,
    each with its latest inspection and this month's points."""
    rows = grid.round_rows(db.session, actor=current_actor(), village_id=working_village_id())
    return {"items": rows}


@blp.route("/households/<int:household_id>/points", methods=["POST"])
@require(Permission.ROUND_WRITE)
@blp.doc(operationId="proposePoints")
@blp.arguments(ProposalSchema())
@blp.arguments(IdempotencyHeader(), location="headers", as_kwargs=True)
@blp.response(202, ProposedClaimSchema, description="Waiting for the supervisor's approval (the default).")
@blp.alt_response(
    201, schema=ProposedEntrySchema, description="Recorded at once (the village's direct setting)."
)
@blp.alt_response(403, schema=ApiError, description="Refused: outside_groups.")
@blp.alt_response(409, schema=ApiError, description=_REFUSALS_409)
def propose_points(body, household_id: int, idempotency_key=None):
    """Propose an award or a deduction under a rule for a household of the caller's groups, with an
    optional photo."""
    actor, village_id = current_actor(), working_village_id()
    grid.ensure_household(db.session, actor=actor, village_id=village_id, household_id=household_id)
    evidence = _stored_photo(village_id, body["photo"]) if body["photo"] else None

    def propose(session):
        return points.award(
            session,
            actor=actor,
            village_id=village_id,
            household_id=household_id,
            rule_id=body["rule_id"],
            note=body["note"],
            evidence=evidence,
            request_key=request_key("propose", idempotency_key),
        )

    recorded = write(propose, retry=idempotency_key is not None)
    if recorded.entry is not None:
        response = jsonify(ProposedEntrySchema().dump(recorded.entry))
        response.status_code = 201
        return response
    return recorded.claim


def _stored_photo(village_id: int, encoded: str) -> str:
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInput(_l("照片不是有效的 base64 编码。"), field="photo") from error
    with writing_store("photo") as files:
        return photos.store(files, village_id=village_id, data=data)
