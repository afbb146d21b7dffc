"""`listNotices`, `getNotice`, `raiseObjection`: public notices (公示) and objections (异议) over JSON.

`raiseObjection` records, on a household's behalf, an objection it made in person, by phone or on paper at the
notice board; the caller is a staff token with the supervisor's permission (the supervisor receives and
answers objections), and the audit log names who recorded it. Households object themselves from their card's
QR page (/me/notices). The card token is deliberately not accepted here: it is the villager's only credential,
and the /me pages guard it (short-lived cookie, rate limit per address, one answer for every dead card) in a
way a bearer header on a scriptable API would not.
"""

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from lovemart.authz import Permission, current_actor, require
from lovemart.db import db
from lovemart.models.notices import NoticeStatus, ObjectionStatus
from lovemart.services import notices
from lovemart.services.notices import MAX_TEXT
from lovemart.web.api.idempotency import IdempotencyHeader, request_key, write
from lovemart.web.api.schemas import ApiError, PageArgs, id_field, page_body, page_of
from lovemart.web.context import working_village_id
from lovemart.web.notices import public_url

blp = Blueprint(
    "api_notices", __name__, url_prefix="/notices", description="Public notices (公示) and objections (异议)"
)


class NoticeListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf([s.value for s in NoticeStatus]))


class NoticeSchema(Schema):
    id = fields.Integer()
    period_start = fields.Date()
    period_end = fields.Date()
    status = fields.String(validate=validate.OneOf([s.value for s in NoticeStatus]))
    days = fields.Integer(metadata={"description": "The objection period, in days from publication."})
    honour_roll = fields.Boolean(metadata={"description": "Whether the notice carries the 红黑榜."})
    compiled_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)
    objection_deadline = fields.DateTime(allow_none=True)
    settled_at = fields.DateTime(
        allow_none=True, metadata={"description": "When its held awards (公示后入账) were all decided."}
    )
    digest = fields.String(
        allow_none=True, metadata={"description": "Published: SHA-256 (hex) of `content` as UTF-8."}
    )
    chain_seq = fields.Integer(
        allow_none=True, metadata={"description": "Published: the village's ledger entry count then."}
    )
    chain_head = fields.String(
        allow_none=True, metadata={"description": "Published: the hash of that last ledger entry."}
    )
    public_url = fields.Method("_public_url", metadata={"description": "Published: its page for anyone."})

    def _public_url(self, notice):
        return public_url(notice) if notice.status == NoticeStatus.PUBLISHED else None


class NoticeDetailSchema(NoticeSchema):
    content = fields.String(
        metadata={
            "description": "The notice exactly as stored: canonical JSON (sorted keys, no spaces, UTF-8). "
            "Once published it never changes and its SHA-256 is `digest`."
        }
    )


class ObjectionBody(Schema):
    household_id = id_field(required=True, strict=True)
    entry_id = id_field(
        strict=True, load_default=None, metadata={"description": "A ledger entry the notice lists."}
    )
    claim_id = id_field(
        strict=True, load_default=None, metadata={"description": "A held award (公示中) the notice lists."}
    )
    text = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))

    @validates_schema
    def _one_line(self, data, **_kwargs):
        if (data.get("entry_id") is None) == (data.get("claim_id") is None):
            raise ValidationError("Give either entry_id or claim_id.", field_name="entry_id")


class ObjectionSchema(Schema):
    id = fields.Integer()
    notice_id = fields.Integer()
    household_id = fields.Integer()
    entry_id = fields.Integer(allow_none=True)
    claim_id = fields.Integer(allow_none=True)
    text = fields.String()
    status = fields.String(validate=validate.OneOf([s.value for s in ObjectionStatus]))
    answer = fields.String()
    reversal_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)


NoticePage = page_of(NoticeSchema, "NoticePage")


@blp.route("/", methods=["GET"])
@require(Permission.NOTICE_READ)
@blp.doc(operationId="listNotices")
@blp.arguments(NoticeListArgs(), location="query", as_kwargs=True)
@blp.response(200, NoticePage)
def list_notices(page: int, per_page: int, status: str | None = None, village=None):
    """The village's notices, newest period first; drafts are seen by the village's staff only."""
    found = notices.listing(
        db.session, village_id=working_village_id(), status=status, page=page, per_page=per_page
    )
    return page_body(found)


@blp.route("/<int:notice_id>", methods=["GET"])
@require(Permission.NOTICE_READ)
@blp.doc(operationId="getNotice")
@blp.response(200, NoticeDetailSchema)
def get_notice(notice_id: int):
    """One notice with its content; 404 for another village's."""
    return notices.get(db.session, village_id=working_village_id(), notice_id=notice_id)


@blp.route("/<int:notice_id>/objections", methods=["POST"])
@require(Permission.NOTICE_PUBLISH)
@blp.doc(operationId="raiseObjection")
@blp.arguments(ObjectionBody())
@blp.arguments(IdempotencyHeader(), location="headers", as_kwargs=True)
@blp.response(201, ObjectionSchema)
@blp.alt_response(409, schema=ApiError, description="Refused: objection_period_over, already_objected.")
@blp.alt_response(
    422, schema=ApiError, description="line_not_in_notice: not a line of this household in the notice."
)
@blp.alt_response(404, schema=ApiError, description="No published notice with this id in the village.")
def raise_objection(body, notice_id: int, idempotency_key=None):
    """Record a household's objection to one of its own lines of a published notice, before the deadline.
    The same Idempotency-Key (from the same village) returns the first objection."""
    actor, village_id = current_actor(), working_village_id()
    notice = notices.get(db.session, village_id=village_id, notice_id=notice_id)

    def raise_objection(session):
        return notices.raise_objection(
            session,
            actor=actor,
            village_id=village_id,
            notice_token=notice.token,
            request_key=request_key("objection", idempotency_key),
            **body,
        )

    return write(raise_objection, retry=idempotency_key is not None)
