"""`listHouseholds`, `getHousehold`, `createHousehold`."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.models.households import Gender, HouseholdStatus, Relation
from lovemart.services import households
from lovemart.services.households import HouseholdFilter, HouseholdInput, MemberInput
from lovemart.web.api.schemas import PageArgs, page_body, page_of
from lovemart.web.context import working_village, working_village_id
from lovemart.web.converters import MAX_ID

blp = Blueprint("api_households", __name__, url_prefix="/households", description="Household registry")


class MemberSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    relation = fields.String(required=True, validate=validate.OneOf([r.value for r in Relation]))
    gender = fields.String(required=True, validate=validate.OneOf([g.value for g in Gender]))
    birth_year = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=1900, max=2100)
    )
    party_member = fields.Boolean(load_default=False, metadata={"description": "党员 (party member)."})


class HouseholdSchema(Schema):
    id = fields.Integer(dump_only=True)
    number = fields.String(required=True, validate=validate.Length(min=1, max=32))
    group_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    group = fields.Function(lambda h: h.group.name, dump_only=True)
    address = fields.String(load_default="", validate=validate.Length(max=200))
    phone = fields.String(load_default="", validate=validate.Length(max=20))
    status = fields.String(
        load_default=HouseholdStatus.GENERAL.value,
        validate=validate.OneOf([s.value for s in HouseholdStatus]),
    )
    active = fields.Boolean(dump_only=True)
    members = fields.List(fields.Nested(MemberSchema), required=True, validate=validate.Length(min=1, max=50))


class HouseholdQuery(PageArgs):
    q = fields.String(load_default="", validate=validate.Length(max=64))
    group_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    status = fields.String(validate=validate.OneOf([s.value for s in HouseholdStatus]))
    active = fields.Boolean(load_default=True, allow_none=True)


HouseholdPage = page_of(HouseholdSchema, "HouseholdPage")


@blp.route("/", methods=["GET"])
@require(Permission.HOUSEHOLD_READ)
@blp.doc(operationId="listHouseholds")
@blp.arguments(HouseholdQuery(), location="query", as_kwargs=True)
@blp.response(200, HouseholdPage)
def list_households(q, page, per_page, active, group_id=None, status=None, village=None):
    """Households of the caller's village, searchable by a member's name, number, address or phone."""
    result = households.search(
        db.session,
        village_id=working_village_id(),
        filters=HouseholdFilter(search=q, group_id=group_id, status=status, active=active),
        page=page,
        per_page=per_page,
    )
    return page_body(result)


@blp.route("/<int:household_id>", methods=["GET"])
@require(Permission.HOUSEHOLD_READ)
@blp.doc(operationId="getHousehold")
@blp.response(200, HouseholdSchema)
def get_household(household_id: int):
    """One household with its members; 404 for another village's household."""
    return households.get(db.session, village_id=working_village_id(), household_id=household_id)


@blp.route("/", methods=["POST"])
@require(Permission.HOUSEHOLD_WRITE)
@blp.doc(operationId="createHousehold")
@blp.arguments(HouseholdSchema())
@blp.response(201, HouseholdSchema)
def create_household(body):
    """Register a household; exactly one member must have relation `head`."""
    village = working_village()
    members = [MemberInput(**m) for m in body.pop("members")]
    with unit_of_work() as session:
        household = households.create(
            session,
            actor=current_actor(),
            village_id=village.id,
            data=HouseholdInput(**body),
            members=members,
        )
        household_id = household.id
    return households.get(db.session, village_id=village.id, household_id=household_id)
