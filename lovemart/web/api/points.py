"""`getAccount`, `listEntries`, `createRule`, `awardPoints`, `reverseEntry`, `approveEntry`.

Writes honour an `Idempotency-Key` header (`lovemart.web.api.idempotency`): a retried request with the same
key (from the same village) answers with what the first one recorded and records nothing more.
"""

from flask import jsonify
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db, unit_of_work
from lovemart.models.points import ClaimStatus, EntryKind
from lovemart.models.rules import RuleCategory
from lovemart.services import accounts, points, rules
from lovemart.services.rules import RuleInput
from lovemart.web.api.idempotency import IdempotencyHeader, request_key, write
from lovemart.web.api.schemas import ApiError, PageArgs, id_field, page_body, page_of
from lovemart.web.context import working_village_id

blp = Blueprint(
    "api_points", __name__, description="Points accounts, ledger entries (积分台账) and rules (积分细则)"
)


# ---- schemas --------------------------------------------------------------------------------------------


class AccountSchema(Schema):
    household_id = fields.Integer()
    balance = fields.Integer(
        metadata={
            "description": "Spendable points (可用): the stored balance, the sum of the entries; the only "
            "part a redemption may debit."
        }
    )
    yuan = fields.Integer(
        metadata={"description": "Value of the balance: points × the village's yuan per point."}
    )
    status = fields.String(metadata={"description": "active, or frozen once the card was recovered (回收)."})
    card_number = fields.String(allow_none=True, metadata={"description": "The card in use, if any."})
    held = fields.Integer(
        metadata={
            "description": "Points held 公示中 under 公示后入账: awards credited once the notice listing "
            "them passes its period without an upheld objection. Not in balance, not spendable; the "
            "villager's page shows them as 另有 N 分公示中. 0 when nothing is held."
        }
    )
    pending = fields.Integer(
        metadata={
            "description": "Points of awards waiting for the supervisor's approval (待审核). Not in balance, "
            "not spendable. 0 when nothing waits."
        }
    )


class AccountQuery(Schema):
    card = fields.String(
        validate=validate.Length(min=1, max=32), metadata={"description": "A printed card number."}
    )
    household = id_field(metadata={"description": "A household id."})
    village = id_field(
        metadata={"description": "County users: id of one of their villages (defaults to the first)."}
    )

    @validates_schema
    def _exactly_one(self, data, **_kwargs):
        if ("card" in data) == ("household" in data):
            raise ValidationError("Give either card or household.", field_name="card")


class EntrySchema(Schema):
    id = fields.Integer()
    seq = fields.Integer(metadata={"description": "Position in the village's hash chain."})
    account_id = fields.Integer()
    points = fields.Integer(metadata={"description": "Signed: positive credits, negative debits."})
    balance_after = fields.Integer()
    kind = fields.String(validate=validate.OneOf([k.value for k in EntryKind]))
    rule_id = fields.Integer(allow_none=True)
    rule_name = fields.String(metadata={"description": "The rule's name when the entry was made."})
    note = fields.String()
    recorded_by_id = fields.Integer(allow_none=True)
    approved_by_id = fields.Integer(allow_none=True)
    reversal_of_id = fields.Integer(allow_none=True)
    redemption_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    hash = fields.String()


class ClaimSchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    rule_id = fields.Integer()
    points = fields.Integer()
    note = fields.String()
    status = fields.String(validate=validate.OneOf([s.value for s in ClaimStatus]))
    from_villager = fields.Boolean()
    recorded_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class RuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    category = fields.String(required=True, validate=validate.OneOf([c.value for c in RuleCategory]))
    points = fields.Integer(
        required=True,
        validate=validate.Range(min=-10000, max=10000),
        metadata={"description": "Negative for the deduction category, positive otherwise."},
    )
    description = fields.String(load_default="", validate=validate.Length(max=500))
    cap_per_month = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=100000),
        metadata={"description": "Earning rules: most points one household may get from it in a month."},
    )
    repeat_points = fields.List(
        fields.Integer(validate=validate.Range(min=-10000, max=10000)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=10),
        metadata={"description": "Deductions: points of the 1st, 2nd, 3rd… time in a month."},
    )
    requires_approval = fields.Boolean(load_default=False)
    allow_negative = fields.Boolean(load_default=False)
    active = fields.Boolean(dump_only=True)


class AwardSchema(Schema):
    rule_id = id_field(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=500))


class ReversalSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


EntryPage = page_of(EntrySchema, "EntryPage")

_REFUSALS_409 = (
    "Refused: cap_exceeded, insufficient_points, rule_retired, account_frozen, no_points_account, "
    "household_inactive."
)


# ---- operations -----------------------------------------------------------------------------------------


@blp.route("/accounts", methods=["GET"])
@require(Permission.LEDGER_READ)
@blp.doc(operationId="getAccount")
@blp.arguments(AccountQuery(), location="query", as_kwargs=True)
@blp.response(200, AccountSchema)
@blp.alt_response(409, schema=ApiError, description="Refused: card_inactive, no_points_account.")
def get_account(card=None, household=None, village=None):
    """A household's spendable balance, its value in yuan, the points held 公示中 and waiting for approval
    (both outside the balance), the account's status and the card in use, by printed card number or by
    household id. 404 for another village's card or household."""
    village_id = working_village_id()
    if card is not None:
        return accounts.summary_for_card(db.session, village_id=village_id, number=card)
    return accounts.summary_for_household(db.session, village_id=village_id, household_id=household)


@blp.route("/households/<int:household_id>/entries", methods=["GET"])
@require(Permission.LEDGER_READ)
@blp.doc(operationId="listEntries")
@blp.arguments(PageArgs(), location="query", as_kwargs=True)
@blp.response(200, EntryPage)
@blp.alt_response(409, schema=ApiError, description="Refused: no_points_account.")
def list_entries(household_id: int, page: int, per_page: int, village=None):
    """A household's ledger entries, newest first."""
    result = accounts.entries_page(
        db.session, village_id=working_village_id(), household_id=household_id, page=page, per_page=per_page
    )
    return page_body(result)


@blp.route("/rules", methods=["POST"])
@require(Permission.RULE_WRITE)
@blp.doc(operationId="createRule")
@blp.arguments(RuleSchema())
@blp.response(201, RuleSchema)
def create_rule(body):
    """Add a rule to the village's catalogue (组长 only)."""
    body["repeat_points"] = tuple(body["repeat_points"]) if body["repeat_points"] else None
    village_id = working_village_id()
    with unit_of_work() as session:
        rule = rules.create(session, actor=current_actor(), village_id=village_id, data=RuleInput(**body))
    return rule


@blp.route("/households/<int:household_id>/points", methods=["POST"])
@require(Permission.LEDGER_WRITE)
@blp.doc(operationId="awardPoints")
@blp.arguments(AwardSchema())
@blp.arguments(IdempotencyHeader(), location="headers", as_kwargs=True)
@blp.response(201, EntrySchema, description="Recorded in the ledger.")
@blp.alt_response(
    202,
    schema=ClaimSchema,
    description="Recorded but not credited yet, a claim: status pending (待审核) when the rule needs the "
    "supervisor's approval, publicizing (公示中) when the village credits awards after their notice "
    "(公示后入账). getAccount counts it in pending or held.",
)
@blp.alt_response(409, schema=ApiError, description=_REFUSALS_409)
def award_points(body, household_id: int, idempotency_key=None):
    """Award or deduct points under a rule for one household (the rule's sign decides)."""
    actor, village_id = current_actor(), working_village_id()

    def award(session):
        return points.award(
            session,
            actor=actor,
            village_id=village_id,
            household_id=household_id,
            rule_id=body["rule_id"],
            note=body["note"],
            request_key=request_key("award", idempotency_key),
        )

    recorded = write(award, retry=idempotency_key is not None)
    if recorded.claim is not None:
        response = jsonify(ClaimSchema().dump(recorded.claim))
        response.status_code = 202
        return response
    return recorded.entry


@blp.route("/entries/<int:entry_id>/reversal", methods=["POST"])
@require(Permission.LEDGER_WRITE)
@blp.doc(operationId="reverseEntry")
@blp.arguments(ReversalSchema())
@blp.arguments(IdempotencyHeader(), location="headers", as_kwargs=True)
@blp.response(201, EntrySchema, description="The reversal entry (冲正), naming the entry it corrects.")
@blp.alt_response(409, schema=ApiError, description="Refused: already_reversed.")
def reverse_entry(body, entry_id: int, idempotency_key=None):
    """Correct a wrong entry with a reversal entry; the original stays in the books."""
    actor, village_id = current_actor(), working_village_id()

    def reverse(session):
        return points.reverse(
            session,
            actor=actor,
            village_id=village_id,
            entry_id=entry_id,
            reason=body["reason"],
            request_key=request_key("reverse", idempotency_key),
        )

    return write(reverse, retry=idempotency_key is not None)


@blp.route("/claims/<int:claim_id>/approval", methods=["POST"])
@require(Permission.CLAIM_APPROVE)
@blp.doc(operationId="approveEntry")
@blp.response(201, EntrySchema, description="The ledger entry the approved claim became.")
@blp.alt_response(
    202,
    schema=ClaimSchema,
    description="Approved, and held 公示中 (status publicizing) under 公示后入账: credited once the notice "
    "listing it passes its period.",
)
@blp.alt_response(409, schema=ApiError, description="Refused: claim_not_open, account_frozen.")
def approve_entry(claim_id: int):
    """The supervisor approves a pending entry (a claim under a rule that needs approval)."""
    actor, village_id = current_actor(), working_village_id()
    with unit_of_work() as session:
        claim = points.approve(session, actor=actor, village_id=village_id, claim_id=claim_id)
        if claim.entry_id is None:
            response = jsonify(ClaimSchema().dump(claim))
            response.status_code = 202
            return response
        return points.get_entry(session, village_id=village_id, entry_id=claim.entry_id)
