"""`record(...)`, called by every writer, and the `AuditTag` names of what can happen."""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
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
    COUNTER_DEVICE_REGISTER = "shop:counter-device:register"
    COUNTER_DEVICE_UPDATE = "shop:counter-device:update"
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
    OFFLINE_ACCEPT = "shop:offline-redemption:accept"
    OFFLINE_APPLY = "shop:offline-redemption:apply"
    OFFLINE_PENDING = "shop:offline-redemption:pending"
    OFFLINE_RECOVER = "shop:offline-redemption:recover"
    PRODUCT_CREATE = "shop:product:create"
    PRODUCT_UPDATE = "shop:product:update"
    PURCHASE_RECORD = "shop:purchase:record"
    REDEMPTION_CANCEL = "shop:redemption:cancel"
    REDEMPTION_CREATE = "shop:redemption:create"
    RULE_CREATE = "points:rule:create"
    RULE_UPDATE = "points:rule:update"
    STOCKTAKE_CONFIRM = "stock:stocktake:confirm"
    STOCKTAKE_START = "stock:stocktake:start"
    STOCK_CORRECT = "stock:movement:correct"
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


#: What the audit log calls each action, in the words of the village (every tag has one; a test checks).
ACTION_NAMES = {
    AuditTag.API_TOKEN_CREATE: _l("创建接口令牌"),
    AuditTag.CARD_ISSUE: _l("发积分卡"),
    AuditTag.CARD_RECOVER: _l("找回积分卡"),
    AuditTag.CARD_REISSUE: _l("补办积分卡"),
    AuditTag.CLAIM_APPROVE: _l("批准积分申报"),
    AuditTag.CLAIM_CREATE: _l("提交积分申报"),
    AuditTag.CLAIM_DECLINE: _l("退回积分申报"),
    AuditTag.CLAIM_REJECT: _l("驳回积分申报"),
    AuditTag.COUNTER_DEVICE_REGISTER: _l("登记柜台设备"),
    AuditTag.COUNTER_DEVICE_UPDATE: _l("修改柜台设备"),
    AuditTag.DONATION_RECORD: _l("登记捐赠"),
    AuditTag.DONOR_SAVE: _l("保存捐赠方"),
    AuditTag.FUND_CREATE: _l("新建资金"),
    AuditTag.FUND_INCOME: _l("资金入账"),
    AuditTag.HOUSEHOLD_CREATE: _l("新建农户"),
    AuditTag.HOUSEHOLD_IMPORT: _l("导入农户"),
    AuditTag.HOUSEHOLD_UPDATE: _l("修改农户"),
    AuditTag.INSPECTION_RECORD: _l("登记卫生检查"),
    AuditTag.INSPECTION_ROUND: _l("登记整组检查"),
    AuditTag.LEDGER_ENTRY_CREATE: _l("记积分"),
    AuditTag.LEDGER_ENTRY_REVERSE: _l("冲正积分"),
    AuditTag.MEMBER_CREATE: _l("添加家庭成员"),
    AuditTag.MEMBER_DELETE: _l("删除家庭成员"),
    AuditTag.MEMBER_UPDATE: _l("修改家庭成员"),
    AuditTag.NOTICE_COMPILE: _l("生成公示"),
    AuditTag.NOTICE_PUBLISH: _l("发布公示"),
    AuditTag.NOTICE_SETTLE: _l("公示期满结算"),
    AuditTag.OBJECTION_ANSWER: _l("答复异议"),
    AuditTag.OBJECTION_RAISE: _l("提出异议"),
    AuditTag.OFFLINE_ACCEPT: _l("准予离线兑换入账"),
    AuditTag.OFFLINE_APPLY: _l("离线兑换入账"),
    AuditTag.OFFLINE_PENDING: _l("离线兑换待处理"),
    AuditTag.OFFLINE_RECOVER: _l("离线兑换已追回"),
    AuditTag.PRODUCT_CREATE: _l("新建商品"),
    AuditTag.PRODUCT_UPDATE: _l("修改商品"),
    AuditTag.PURCHASE_RECORD: _l("登记采购"),
    AuditTag.REDEMPTION_CANCEL: _l("撤销兑换"),
    AuditTag.REDEMPTION_CREATE: _l("兑换商品"),
    AuditTag.RULE_CREATE: _l("新建积分规则"),
    AuditTag.RULE_UPDATE: _l("修改积分规则"),
    AuditTag.STOCKTAKE_CONFIRM: _l("确认盘点"),
    AuditTag.STOCKTAKE_START: _l("开始盘点"),
    AuditTag.STOCK_CORRECT: _l("更正入库"),
    AuditTag.STOCK_IN: _l("商品入库"),
    AuditTag.STOCK_WRITE_OFF: _l("商品报损"),
    AuditTag.USER_CREATE: _l("新建用户"),
    AuditTag.USER_PASSWORD_CHANGE: _l("修改密码"),
    AuditTag.USER_UPDATE: _l("修改用户"),
    AuditTag.VILLAGE_CREATE: _l("新建村"),
    AuditTag.VILLAGE_UPDATE: _l("修改村设置"),
    AuditTag.WISH_APPROVE: _l("通过心愿"),
    AuditTag.WISH_DECLINE: _l("不通过心愿"),
    AuditTag.WISH_FULFIL: _l("实现心愿"),
    AuditTag.WISH_HANDOVER: _l("交付心愿"),
    AuditTag.WISH_PLEDGE: _l("认领心愿"),
    AuditTag.WISH_POST: _l("发布心愿"),
    AuditTag.WISH_RECEIVE: _l("确认收到心愿"),
    AuditTag.ZONE_SAVE: _l("保存商品区"),
}


def action_name(tag: str) -> object:
    """The Chinese name of a tag's action; the code itself for a tag this release does not know."""
    try:
        return ACTION_NAMES[AuditTag(tag)]
    except ValueError:
        return tag


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
