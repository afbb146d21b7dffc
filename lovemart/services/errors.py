"""`DomainError` and one subclass per refusal, each carrying the values its message needs.

`code` is the stable machine name used by the JSON API; `message` is the sentence a person reads.
`status` is the HTTP status the web layer answers with.
"""

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    code = "domain_error"
    status = 409
    template = _l("操作未能完成。")

    def __init__(self, **values):
        self.values = values
        super().__init__(self.code)

    @property
    def message(self) -> str:
        return str(self.template) % self.values if self.values else str(self.template)

    def __str__(self) -> str:
        return self.message


class NotFound(DomainError):
    code = "not_found"
    status = 404
    template = _l("找不到该记录。")


class InvalidInput(DomainError):
    """The values are of the right shape but break a rule; `field` names the offending input if any."""

    code = "invalid_input"
    status = 422
    template = _l("%(reason)s")

    def __init__(self, reason, field: str | None = None):
        self.field = field
        super().__init__(reason=reason)


class DuplicateHouseholdNumber(DomainError):
    code = "duplicate_household_number"
    template = _l("户号 %(number)s 在本村已存在。")


class UnknownGroup(DomainError):
    code = "unknown_group"
    status = 422
    template = _l("本村没有名为“%(name)s”的村民小组。")


class OutsideGroups(DomainError):
    """A grid worker (网格员) acting on a household that is not of their villager groups."""

    code = "outside_groups"
    status = 403
    template = _l("这户不在您负责的村民小组，不能检查或记分。")


class UsernameTaken(DomainError):
    code = "username_taken"
    template = _l("用户名 %(username)s 已被使用。")


class WrongPassword(DomainError):
    code = "wrong_password"
    status = 422
    template = _l("原密码不正确。")


class VillageCodeTaken(DomainError):
    code = "village_code_taken"
    template = _l("村代码 %(code)s 已被使用。")


class UnreadableFile(DomainError):
    """An uploaded file that cannot be read at all (format, encoding, headers, size); `reason` says why."""

    code = "unreadable_file"
    status = 422
    template = _l("%(reason)s")

    def __init__(self, reason, field: str | None = "file"):
        self.field = field
        super().__init__(reason=reason)


class ImportRejected(DomainError):
    """A spreadsheet with at least one bad row; `problems` lists every one, nothing was imported."""

    code = "import_rejected"
    status = 422
    template = _l("导入文件有 %(count)d 处错误，未导入任何数据。")

    def __init__(self, problems):
        self.problems = problems
        super().__init__(count=len(problems))


class HouseholdInactive(DomainError):
    code = "household_inactive"
    template = _l("该户已迁出，不能办理。")


class InspectionNotPassed(DomainError):
    code = "inspection_not_passed"
    template = _l("该户最近一次“五净一规范”检查未全部达标（%(failed)s），暂不能发卡。")


class AlreadyHasCard(DomainError):
    code = "already_has_card"
    template = _l("该户已有一张正常使用的积分卡（%(number)s）。")


class CardNotActive(DomainError):
    code = "card_inactive"
    template = _l("该积分卡已挂失或已回收，不能使用。")


class CardLost(CardNotActive):
    template = _l("这张卡已挂失，不能使用。请使用补发的新卡。")


class CardRecovered(CardNotActive):
    template = _l("这张卡已回收，该户的积分账户已冻结。")


class NoPointsAccount(DomainError):
    code = "no_points_account"
    template = _l("该户还没有积分卡，请先发卡。")


class AccountFrozen(DomainError):
    code = "account_frozen"
    template = _l("该户的积分账户已冻结（积分卡已回收）。")


class RuleRetired(DomainError):
    code = "rule_retired"
    template = _l("积分细则“%(name)s”已停用。")


class CapExceeded(DomainError):
    code = "cap_exceeded"
    template = _l("“%(name)s”每户每月最多 %(cap)d 分，本月已得 %(used)d 分。")


class InsufficientPoints(DomainError):
    code = "insufficient_points"
    template = _l("积分不足：需要 %(needed)d 分，当前余额 %(available)d 分。")


class AlreadyReversed(DomainError):
    code = "already_reversed"
    template = _l("这条记录已经冲正过了。")


class ClaimNotOpen(DomainError):
    code = "claim_not_open"
    template = _l("这条申请已经处理过了。")


class IdempotencyConflict(DomainError):
    """`first`: what the key's first request made, when the service may say so (its own village's), for a
    page that explains the conflict; the message and the API's answer stay the same either way."""

    code = "idempotency_conflict"
    status = 422
    template = _l("同一个请求编号已用于另一项不同的操作。")

    def __init__(self, first=None):
        self.first = first
        super().__init__()


class CartOutdated(DomainError):
    """The counter page the cart was built on showed a balance, a price or a stock that is no longer so."""

    code = "cart_outdated"
    template = _l("页面打开后，余额或库存已经变化。")


class OutOfStock(DomainError):
    code = "out_of_stock"
    template = _l("“%(product)s”库存不足：需要 %(wanted)d，仅剩 %(left)d。")

    def __init__(self, product_id: int | None = None, **values):
        self.product_id = product_id  # which product, so a form can say it beside that product's line
        super().__init__(**values)


class PriceChanged(DomainError):
    code = "price_changed"
    template = _l("价格已变化：当时共 %(then)d 分，按现价共 %(now)d 分。")


class OfflineNotAllowed(DomainError):
    code = "offline_not_allowed"  # a state of the device, not of the person: 409, as for other refusals
    template = _l("这台设备没有开通离线兑换，请管理员在“柜台设备”中开通。")


class OfflineNotPending(DomainError):
    code = "offline_not_pending"
    template = _l("这笔离线兑换已经处理过了。")


class FundTooLow(DomainError):
    code = "fund_too_low"
    template = _l("资金“%(fund)s”余额不足：需要 %(needed)s 元，余额 %(available)s 元。")


class RedemptionCancelled(DomainError):
    code = "redemption_cancelled"
    template = _l("这笔兑换已经退货撤销了。")


class NoticePeriodInvalid(DomainError):
    code = "notice_period_invalid"
    status = 422
    template = _l("%(reason)s")


class NoticeAlreadyPublished(DomainError):
    code = "notice_already_published"
    template = _l("%(start)s 至 %(end)s 的公示已经发布，不能再改动。")


class NoticeChanged(DomainError):
    code = "notice_changed"
    template = _l("草稿生成后台账又有变化，请重新生成草稿，核对后再发布。")


class ObjectionPeriodOver(DomainError):
    code = "objection_period_over"
    template = _l("这期公示的异议期已经结束，不能再提出异议。")


class LineNotInNotice(DomainError):
    code = "line_not_in_notice"
    status = 422
    template = _l("这期公示中没有您家的这条记录，或这条记录不能提出异议。")


class AlreadyObjected(DomainError):
    code = "already_objected"
    template = _l("您已经对这条记录提出过异议，请等待答复。")


class ObjectionAnswered(DomainError):
    code = "objection_answered"
    template = _l("这条异议已经答复过了。")


class TooManyWishes(DomainError):
    code = "too_many_wishes"
    template = _l("每户最多同时有 %(limit)d 个未实现的心愿，请等已有心愿实现后再提。")


class WishNotInState(DomainError):
    code = "wish_not_in_state"
    template = _l("这个心愿当前状态为“%(status)s”，不能进行这项操作。")
