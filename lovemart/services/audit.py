"""`record(...)`, called by every writer, and the `AuditTag` names of what can happen."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import insert
from sqlalchemy.orm import Session

from lovemart.models import AuditEvent


class AuditTag(StrEnum):
    """`<area>:<subject>:<action>`; alphabetised."""

    API_TOKEN_CREATE = "user:api-token:create"
    CARD_ISSUE = "card:card:issue"
    CARD_RECOVER = "card:card:recover"
    CARD_REISSUE = "card:card:reissue"
    CLAIM_APPROVE = "points:claim:approve"
    CLAIM_CREATE = "points:claim:create"
    CLAIM_DECLINE = "points:claim:decline"
    CLAIM_REJECT = "points:claim:reject"
    DONATION_RECORD = "shop:donation:record"
    DONOR_SAVE = "shop:donor:save"
    FUND_CREATE = "shop:fund:create"
    FUND_INCOME = "shop:fund:income"
    HOUSEHOLD_CREATE = "household:household:create"
    HOUSEHOLD_IMPORT = "household:household:import"
    HOUSEHOLD_UPDATE = "household:household:update"
    INSPECTION_RECORD = "inspection:inspection:record"
    INSPECTION_ROUND = "inspection:round:record"
    LEDGER_ENTRY_CREATE = "points:entry:create"
    LEDGER_ENTRY_REVERSE = "points:entry:reverse"
    MEMBER_CREATE = "household:member:create"
    MEMBER_DELETE = "household:member:delete"
    MEMBER_UPDATE = "household:member:update"
    NOTICE_COMPILE = "notice:notice:compile"
    NOTICE_PUBLISH = "notice:notice:publish"
    NOTICE_SETTLE = "notice:notice:settle"
    OBJECTION_ANSWER = "notice:objection:answer"
    OBJECTION_RAISE = "notice:objection:raise"
    PRODUCT_CREATE = "shop:product:create"
    PRODUCT_UPDATE = "shop:product:update"
    PURCHASE_RECORD = "shop:purchase:record"
    REDEMPTION_CANCEL = "shop:redemption:cancel"
    REDEMPTION_CREATE = "shop:redemption:create"
    RULE_CREATE = "points:rule:create"
    RULE_UPDATE = "points:rule:update"
    STOCKTAKE_CONFIRM = "stock:stocktake:confirm"
    STOCKTAKE_START = "stock:stocktake:start"
    STOCK_IN = "stock:movement:stock-in"
    STOCK_WRITE_OFF = "stock:movement:write-off"
    USER_CREATE = "user:user:create"
    USER_PASSWORD_CHANGE = "user:password:change"
    USER_UPDATE = "user:user:update"
    VILLAGE_CREATE = "village:village:create"
    VILLAGE_UPDATE = "village:village:update"
    WISH_APPROVE = "wall:wish:approve"
    WISH_DECLINE = "wall:wish:decline"
    WISH_FULFIL = "wall:wish:fulfil"
    WISH_HANDOVER = "wall:wish:handover"
    WISH_PLEDGE = "wall:wish:pledge"
    WISH_POST = "wall:wish:post"
    WISH_RECEIVE = "wall:wish:receive"
    ZONE_SAVE = "shop:zone:save"


_INSERT = insert(AuditEvent.__table__)


def record(
    session: Session,
    *,
    actor,
    tag: AuditTag,
    subject,
    village_id: int | None,
    data: dict | None = None,
    at: datetime | None = None,
) -> None:
    """Append one audit row in the caller's transaction. `actor` None means the system (CLI, demo loader).

    `subject` is a flushed model object, or a `(type name, id)` pair from a writer that works in Core. The
    row is inserted at once, without an ORM flush: the counter's redemption calls this on its hot path.
    `at` is the moment of the event when it is not now (the demo's history).
    """
    subject_type, subject_id = subject if isinstance(subject, tuple) else (type(subject).__name__, subject.id)
    row = {"created_at": at} if at is not None else {}
    session.connection().execute(
        _INSERT,
        row
        | {
            "village_id": village_id,
            "actor_id": actor.id if actor is not None else None,
            "actor_name": actor.username if actor is not None else "system",
            "tag": tag.value,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "data": data or {},
        },
    )


def changes(before: dict, after: dict) -> dict:
    """The before/after pairs of the fields that changed, for an update's audit row."""
    return {
        "before": {k: before[k] for k in before if before[k] != after.get(k)},
        "after": {k: after[k] for k in before if before[k] != after.get(k)},
    }
