"""`recordInspection`."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from lovemart.authz import Permission, current_actor, require_any
from lovemart.db import unit_of_work
from lovemart.models.inspections import CHECKS
from lovemart.services import inspections
from lovemart.services.inspections import CHECK_COLUMNS, InspectionInput
from lovemart.web.api.schemas import ApiError
from lovemart.web.context import working_village_id

blp = Blueprint("api_inspections", __name__, url_prefix="/households", description="五净一规范 inspections")

_CHECK_FIELDS = {
    column: fields.Boolean(required=True, metadata={"description": str(label)}) for column, label in CHECKS
}


class InspectionSchema(Schema.from_dict(_CHECK_FIELDS)):
    id = fields.Integer(dump_only=True)
    household_id = fields.Integer(dump_only=True)
    inspected_on = fields.Date(
        load_default=inspections.today,
        metadata={"description": "Defaults to today in Asia/Shanghai; a future date is refused."},
    )
    inspector = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Defaults to the caller's display name."},
    )
    note = fields.String(load_default="", validate=validate.Length(max=500))
    passed = fields.Boolean(dump_only=True, metadata={"description": "True when all six checks passed."})


@blp.route("/<int:household_id>/inspections", methods=["POST"])
@require_any(Permission.INSPECTION_WRITE, Permission.ROUND_WRITE)
@blp.doc(operationId="recordInspection")
@blp.arguments(InspectionSchema())
@blp.response(201, InspectionSchema)
@blp.alt_response(403, schema=ApiError, description="Refused: outside_groups (a grid worker's household).")
@blp.alt_response(409, schema=ApiError, description="Refused: household_inactive.")
def record_inspection(body, household_id: int):
    """Record one household's 五净一规范 inspection; a card may be issued once all six checks pass. The
    administrator, for any household of the village; a grid worker (网格员), for those of their groups."""
    actor, village_id = current_actor(), working_village_id()
    with unit_of_work() as session:
        inspection = inspections.record(
            session,
            actor=actor,
            village_id=village_id,
            household_id=household_id,
            data=InspectionInput(
                inspected_on=body["inspected_on"],
                inspector=body["inspector"] or actor.display_name,
                checks={column: body[column] for column in CHECK_COLUMNS},
                note=body["note"],
            ),
        )
    return inspection
