"""Signals for the supervisor (监督提示): patterns in a village's books over a period that deserve a look.
They accuse nobody; each names the entries to check.

- **Own household**: points recorded by a staff member for the household their account is linked to.
- **Over the cap**: a household's points under a capped rule in one month exceed the cap (the service
  refuses that, so only approvals of old claims, reversed reversals or edits can cause it).
- **Unusual redemptions**: a household redeemed more than `UNUSUAL_FACTOR` × the village's median per
  redeeming household in the period, and at least `UNUSUAL_FLOOR` points.
- **Reversed again and again**: a household has two or more reversals under the same rule in the period,
  or a reversal was itself reversed.

Each query reads only the period's entries through the (village, created_at) index.
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from lovemart.models import LedgerEntry, PointsAccount, Rule, User
from lovemart.models.points import EntryKind
from lovemart.services.points import household_labels, local_day_bounds
from lovemart.services.totals import month_of

UNUSUAL_FACTOR = 3
UNUSUAL_FLOOR = 100


@dataclass
class Signal:
    kind: str
    account_id: int
    what: str
    entry_ids: list[int] = field(default_factory=list)
    #: "户号 户主", filled in once for all signals.
    household: str = ""

    @property
    def title(self):
        return TITLES[self.kind]


TITLES = {
    "own_household": _l("给自己家记分"),
    "over_cap": _l("超过每月上限"),
    "unusual_redemption": _l("兑换量异常"),
    "reversed_often": _l("多次冲正"),
}


def signals(session: Session, *, village_id: int, first: date, last: date) -> list[Signal]:
    start, end = local_day_bounds(first, last)
    period = and_(
        LedgerEntry.village_id == village_id, LedgerEntry.created_at >= start, LedgerEntry.created_at < end
    )
    found = [
        *_own_household(session, period),
        *_over_cap(session, period),
        *_unusual_redemptions(session, period),
        *_reversed_often(session, period),
    ]
    labels = household_labels(session, village_id=village_id, account_ids={s.account_id for s in found})
    for signal in found:
        signal.household = str(labels.get(signal.account_id, ""))
    return found


def _own_household(session, period) -> list[Signal]:
    rows = session.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.account_id,
            LedgerEntry.points,
            LedgerEntry.rule_name,
            User.display_name,
        )
        .join(PointsAccount, PointsAccount.id == LedgerEntry.account_id)
        .join(User, User.id == LedgerEntry.recorded_by_id)
        .where(period, User.household_id == PointsAccount.household_id, LedgerEntry.points > 0)
        .order_by(LedgerEntry.id)
    ).all()
    return [
        Signal(
            "own_household",
            account_id,
            str(_l("%(who)s 给本人所在户记了 %(points)+d 分（%(rule)s）", who=who, points=points, rule=rule)),
            [entry_id],
        )
        for entry_id, account_id, points, rule, who in rows
    ]


def _over_cap(session, period) -> list[Signal]:
    rows = session.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.account_id,
            LedgerEntry.rule_id,
            LedgerEntry.points,
            LedgerEntry.created_at,
            Rule.name,
            Rule.cap_per_month,
        )
        .join(Rule, Rule.id == LedgerEntry.rule_id)
        .where(period, Rule.cap_per_month.is_not(None))
        .order_by(LedgerEntry.id)
    ).all()
    months = defaultdict(lambda: [0, [], "", 0])
    for entry_id, account_id, rule_id, points, created_at, name, cap in rows:
        bucket = months[account_id, rule_id, month_of(created_at)]
        bucket[0] += points
        bucket[1].append(entry_id)
        bucket[2], bucket[3] = name, cap
    return [
        Signal(
            "over_cap",
            account_id,
            str(
                _l(
                    "%(month)s “%(rule)s”共 %(total)d 分，上限 %(cap)d 分",
                    month=f"{month:%Y-%m}",
                    rule=name,
                    total=total,
                    cap=cap,
                )
            ),
            ids,
        )
        for (account_id, _rule, month), (total, ids, name, cap) in months.items()
        if total > cap
    ]


def _unusual_redemptions(session, period) -> list[Signal]:
    per_account = dict(
        session.execute(
            select(LedgerEntry.account_id, -func.sum(LedgerEntry.points))
            .where(period, LedgerEntry.kind == EntryKind.REDEMPTION.value)
            .group_by(LedgerEntry.account_id)
        ).all()
    )
    if not per_account:
        return []
    median = statistics.median(per_account.values())
    threshold = max(UNUSUAL_FACTOR * median, UNUSUAL_FLOOR)
    return [
        Signal(
            "unusual_redemption",
            account_id,
            str(_l("兑换 %(points)d 分，全村中位数 %(median)d 分", points=points, median=median)),
        )
        for account_id, points in sorted(per_account.items(), key=lambda item: -item[1])
        if points > threshold
    ]


def _reversed_often(session, period) -> list[Signal]:
    reversed_entry = aliased(LedgerEntry)
    rows = session.execute(
        select(LedgerEntry.id, LedgerEntry.account_id, reversed_entry.rule_name, reversed_entry.kind)
        .join(reversed_entry, reversed_entry.id == LedgerEntry.reversal_of_id)
        .where(period, LedgerEntry.kind == EntryKind.REVERSAL.value)
        .order_by(LedgerEntry.id)
    ).all()
    by_rule = defaultdict(list)
    found = []
    for entry_id, account_id, rule_name, original_kind in rows:
        if original_kind == EntryKind.REVERSAL.value:
            found.append(Signal("reversed_often", account_id, str(_l("一条冲正又被冲正")), [entry_id]))
        else:
            by_rule[account_id, rule_name].append(entry_id)
    found += [
        Signal(
            "reversed_often",
            account_id,
            str(_l("“%(rule)s”冲正 %(n)d 次", rule=rule or _l("兑换"), n=len(ids))),
            ids,
        )
        for (account_id, rule), ids in by_rule.items()
        if len(ids) >= 2
    ]
    return found
