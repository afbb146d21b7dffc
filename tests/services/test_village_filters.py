"""Each isolation layer proven on its own (docs/decisions/0001-village-isolation.md).

1. Every list and get service keeps to its village by its own filter: with the ORM scope switched off, each
   is called for village 甲 (with village 乙's ids where it takes an id) and must return nothing of 乙 (or
   NotFound). `READERS` names a call for each; a test fails when a service taking a village is neither there
   nor among the writers or the reviewed exceptions.
2. The ORM scope keeps to the session's villages by itself: unfiltered queries of every village-owned model
   see only the villages in scope.
3. Every SQL statement a whole village's life runs (every writer, then every reader) on a village-owned
   table carries a village condition, or is a reviewed lookup by a key that a filtered statement produced.
"""

import dataclasses
import io
import re
import sys
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from zipfile import BadZipFile

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, func, select

from lovemart import scope
from lovemart.db import db, unit_of_work, utcnow
from lovemart.models import (
    AuditEvent,
    CounterDevice,
    Household,
    LedgerEntry,
    PointsAccount,
    PointsClaim,
    User,
    Village,
)
from lovemart.models.points import ClaimStatus
from lovemart.models.scoped import VillageScoped
from lovemart.services import (
    accounts,
    activity,
    audit_log,
    cards,
    checkpoints,
    donations,
    grid,
    households,
    inspections,
    inventory,
    ledger_export,
    notices,
    offline,
    photos,
    points,
    rankings,
    redemptions,
    reports,
    rules,
    signals,
    spreadsheets,
    statements,
    totals,
    users,
    villages,
    walls,
    witness,
)
from lovemart.services.audit_log import LogFilter
from lovemart.services.errors import DomainError
from lovemart.services.filestore import DatabaseStore
from lovemart.services.households import HouseholdFilter
from lovemart.services.points import EntryFilter
from lovemart.services.statements import Period
from tests.journey import live
from tests.services.service_functions import village_functions, writing_functions

TODAY = date.today()
MONTH = TODAY.replace(day=1)
#: Long after the journey: every household has gone quiet.
LATER = utcnow() + timedelta(days=400)


class T(str):
    """An argument of a call in `READERS`: that id of the other village (`T("card")`: its card's id)."""


def on(service, **arguments):
    """A call of `service` for village `mine`, with the given arguments (`T(...)`: `theirs`' ids)."""

    def call(session, mine, theirs):
        values = {k: getattr(theirs, v) if isinstance(v, T) else v for k, v in arguments.items()}
        return service(session, village_id=mine.village, **values)

    call.service = service
    return call


def name_of(call) -> str:
    return f"{call.service.__module__.removeprefix('lovemart.services.')}.{call.service.__name__}"


# One call per list or get service: (session, mine, theirs) → result, for village `mine` with `theirs`' ids.
READERS = {
    name_of(call): call
    for call in (
        on(accounts.earning_rules),
        on(accounts.entries_page, household_id=T("household")),
        on(accounts.summary_for_card, number=T("card_number")),
        on(accounts.summary_for_household, household_id=T("household")),
        on(audit_log.event, event_id=T("audit_event")),
        on(audit_log.events, filters=LogFilter()),
        on(audit_log.people),
        on(cards.active_card, household_id=T("household")),
        on(cards.awaiting_card),
        on(cards.by_number, number=T("card_number")),
        on(cards.cards_of, household_id=T("household")),
        on(cards.for_household, household_id=T("household")),
        on(cards.get, card_id=T("card")),
        on(cards.get_active, card_id=T("card")),
        on(cards.printable),
        on(donations.donation_income, donation_id=T("money")),
        on(donations.donation_list),
        on(donations.donors),
        on(donations.fund_movements, fund_id=T("fund")),
        on(donations.funds),
        on(donations.get_donation, donation_id=T("donation")),
        on(donations.get_donor, donor_id=T("donor")),
        on(donations.get_fund, fund_id=T("fund")),
        on(donations.get_purchase, purchase_id=T("purchase")),
        on(donations.purchases),
        on(donations.what_it_became, donation_id=T("donation")),
        on(grid.group_ids, user_id=T("grid_worker")),
        on(grid.groups, user_id=T("grid_worker")),
        on(households.get, household_id=T("household")),
        on(households.group_by_name),
        on(households.search, filters=HouseholdFilter(active=None)),
        on(households.summary),
        on(inspections.history, household_id=T("household")),
        on(inspections.latest, household_id=T("household")),
        on(inspections.latest_by_household),
        on(inspections.not_passing),
        on(inventory.catalogue, active_only=False),
        on(inventory.catalogue_page, active_only=False),
        on(inventory.correctable, product_id=T("product")),
        on(inventory.expiring, today=TODAY),
        on(inventory.get_movement, movement_id=T("stock_in")),
        on(inventory.get_product, product_id=T("product")),
        on(inventory.get_stocktake, stocktake_id=T("stocktake")),
        on(inventory.get_zone, zone_id=T("zone")),
        on(inventory.low_stock),
        on(inventory.movements, product_id=T("product")),
        on(inventory.provenance, product_id=T("product")),
        on(inventory.stock_in_sources, product_id=T("product")),
        on(inventory.stocktake_rows, stocktake_id=T("stocktake")),
        on(inventory.stocktakes),
        on(inventory.zones, include_inactive=True),
        on(notices.get, notice_id=T("notice")),
        on(notices.has_due),
        on(notices.household_objections, household_id=T("second")),
        on(notices.listing),
        on(notices.notice_objections, notice_id=T("notice")),
        on(notices.objection_row, objection_id=T("objection")),
        on(notices.open_for_objection),
        on(notices.open_objection_count),
        on(notices.past_published),
        on(notices.villager_notices, household_id=T("household")),
        on(offline.devices),
        on(offline.gaps),
        on(offline.pending),
        on(offline.skewed, since=utcnow() - timedelta(days=1)),
        on(offline.snapshot),
        on(points.account_for_household, household_id=T("household")),
        on(points.entries, filters=EntryFilter()),
        on(points.entry_row, entry_id=T("entry")),
        on(points.get_entry, entry_id=T("entry")),
        on(points.holders),
        on(redemptions.get, redemption_id=T("redemption")),
        on(redemptions.latest),
        on(rules.catalogue),
        on(rules.get, rule_id=T("rule")),
        on(signals.signals, first=MONTH, last=TODAY),
        on(activity.quiet_households, now=LATER),
        on(spreadsheets.export_households),
        on(statements.export_xlsx, household_id=T("household"), period=Period()),
        on(statements.passbook, household_id=T("household"), period=Period()),
        on(statements.statement, household_id=T("household"), period=Period()),
        on(walls.counts),
        on(walls.get, wish_id=T("wish")),
        on(walls.goods_donations, donor_id=T("donor")),
        on(walls.household_by_number, number=T("household_number")),
        on(walls.wishes, statuses=[w.value for w in walls.WishStatus]),
    )
} | {
    "offline.get_record": lambda s, m, t: _refused_or(
        lambda: offline.get_record(s, village_id=m.village, record_id=t.waiting)
    ),
    "offline.get_device": lambda s, m, t: _refused_or(
        lambda: offline.get_device(s, village_id=m.village, device_id=t.device)
    ),
    "offline.device_by_token": lambda s, m, t: offline.device_by_token(
        s, village_id=m.village, token=s.get(CounterDevice, t.device).token
    ),
    "donations.goods_lines": lambda s, m, t: (
        donations.goods_lines(s, village_id=m.village, donation_id=t.donation)
        + donations.goods_lines(s, village_id=m.village, purchase_id=t.purchase)
    ),
    "inspections.group_households": lambda s, m, t: (
        _refused_or(lambda: inspections.group_households(s, village_id=m.village, group_id=t.groups[0]))
        + inspections.group_households(s, village_id=m.village, group_id=None)
    ),
    "cards.active_numbers": lambda s, m, t: [  # the households whose numbers came back
        s.get(Household, household_id)
        for household_id in cards.active_numbers(
            s, village_id=m.village, household_ids=[m.household, t.household]
        )
    ],
    "households.party_household_ids": lambda s, m, t: [  # the 党员户 whose ids came back
        s.get(Household, household_id)
        for household_id in households.party_household_ids(s, village_id=m.village)
    ],
    "rankings.household_ranking": lambda s, m, t: (
        rankings.household_ranking(s, village_id=m.village, first=date(2000, 1, 1), last=TODAY)
        + rankings.household_ranking(
            s, village_id=m.village, first=date(2000, 1, 1), last=TODAY, who=rankings.Who.PARTY
        )
    ),
    "inventory.products_by_id": lambda s, m, t: inventory.products_by_id(
        s, village_id=m.village, ids=[m.product, t.product]
    ),
    "checkpoints.household_checks": lambda s, m, t: checkpoints.household_checks(
        s, village_id=m.village, account_id=t.account, since=date(2000, 1, 1)
    ),
    "checkpoints.of_notices": lambda s, m, t: checkpoints.of_notices(s, m.village, [m.notice, t.notice]),
    "inventory.verify": lambda s, m, t: inventory.verify(s, village_ids=[m.village]),
    "ledger_export.export_year": lambda s, m, t: _exported(
        ledger_export.export_year, s, village_id=m.village, year=TODAY.year
    ),
    "notices.objection_queue": lambda s, m, t: (
        notices.objection_queue(s, village_id=m.village, answered=True)
        + notices.objection_queue(s, village_id=m.village, answered=False)
    ),
    "points.claim_queue": lambda s, m, t: [
        row for status in ClaimStatus for row in points.claim_queue(s, village_id=m.village, status=status)
    ],
    "points.claims": lambda s, m, t: [
        claim for status in ClaimStatus for claim in points.claims(s, village_id=m.village, status=status)
    ],
    "points.entry_rows": lambda s, m, t: points.entry_rows(
        s,
        village_id=m.village,
        entries=list(s.scalars(select(LedgerEntry).where(LedgerEntry.village_id == m.village))),
    ),
    "points.balances": lambda s, m, t: [  # the accounts whose figures came back
        s.get(PointsAccount, account_id)
        for account_id in points.balances(s, village_id=m.village, account_ids=[m.account, t.account])
    ],
    "points.balance_of": lambda s, m, t: (
        _refused_or(lambda: [points.balance_of(s, village_id=m.village, account_id=t.account)])
        + [s.get(PointsAccount, points.balance_of(s, village_id=m.village, account_id=m.account).account_id)]
    ),
    "points.waiting": lambda s, m, t: _own_waiting(s, m, t),
    "points.household_labels": lambda s, m, t: points.household_labels(
        s, village_id=m.village, account_ids=[m.account, t.account]
    ),
    "points.open_claim_count": lambda s, m, t: [
        points.open_claim_count(s, village_id=m.village, status=status) for status in ClaimStatus
    ],
    "points.verify": lambda s, m, t: points.verify(s, village_ids=[m.village]),
    "reports.county_overview": lambda s, m, t: reports.county_overview(
        s, village_ids=[m.village], first=MONTH, last=MONTH
    ),
    "photos.read": lambda s, m, t: photos.read(DatabaseStore(s, "photo"), village_id=m.village, name=t.photo),
    "totals.months": lambda s, m, t: totals.months(s, village_ids=[m.village], first=MONTH, last=MONTH),
    "totals.verify": lambda s, m, t: totals.verify(s, village_ids=[m.village]),
    "witness.alarms": lambda s, m, t: witness.alarms(s, [m.village]),
    "activity.participation": lambda s, m, t: _only_village(
        activity.participation(s, [m.village], MONTH, TODAY), m.village
    ),
    "activity.warnings": lambda s, m, t: activity.warnings(s, [m.village], now=LATER),
    "activity.quiet_groups": lambda s, m, t: activity.quiet_groups(s, [m.village], now=LATER),
    "grid.round_rows": lambda s, m, t: grid.round_rows(
        s, actor=s.get(User, t.grid_worker), village_id=m.village
    ),
    "grid.round_household": lambda s, m, t: _refused_or(
        lambda: [
            grid.round_household(
                s, actor=s.get(User, t.grid_worker), village_id=m.village, household_id=t.household
            )
        ]
    ),
}

#: Services that take a village but neither list nor get its rows, each with why it is not in `READERS`.
NOT_READERS = {
    "audit.record": "writes the audit row (the writers' tests check it)",
    "grid.counts_at_once": "a flag of the village row itself (villages are not village-owned rows)",
    "grid.ensure_household": "a check that returns nothing: it refuses (tests/services/test_grid.py)",
    "audit_names.describe": "names rows already read for the village; its resolving names no other "
    "village's object (tests/services/test_audit_names.py)",
    "audit_names.resolve": "proven to name no other village's object (tests/services/test_audit_names.py)",
    "idempotency.replayed": "looks across villages on purpose (a key is unique across them) and refuses "
    "another village's key (tests/services/test_idempotency.py)",
    "inventory.create_default_zones": "a new village's zones: writes",
    "inventory.move": "a stock movement: writes (through the writers that call it)",
    "inventory.move_stock": "a stock movement in Core: writes (the counter's hot path)",
    "inventory.record_counts": "a stocktake's counts: writes",
    "ledger_tree.append": "appends the village's own leaf in the ledger writer's transaction: writes",
    "ledger_tree.consistency_proof": "hashes of the village's own tree, selected by the village's id",
    "ledger_tree.inclusion_proofs": "hashes of the village's own tree, selected by the village's id",
    "ledger_tree.reader": "reads the village's own tree nodes, selected by the village's id",
    "ledger_tree.root_at": "hashes of the village's own tree, selected by the village's id",
    "points.lock_book": "locks the village's own book, by the village's id",
    "points.lock_head": "locks the village's own book, by the village's id",
    "points.open_account": "a new account: writes",
    "points.open_book": "a new village's book: writes",
    "totals.add": "a month's totals: writes",
    "photos.store": "stores a file in the village's own part of the file store: writes",
    "spreadsheets.plan_import": "checks a roster against the village's groups and numbers: the file's rows",
    "spreadsheets.plan_roster": "as plan_import, from the uploaded file",
    "spreadsheets.roster_template": "the village's group names only, through villages.groups",
    "villages.get": "the villages themselves are not village-owned rows",
    "villages.groups": "a village's groups, selected by the village's id itself",
    "villages.many": "the villages themselves are not village-owned rows",
    "witness.poll": "records the county witness's observations: writes",
}

#: Readers that show nothing naming their own village here: called with the other village's ids (so they
#: must come back empty), or answering figures, flags or checks.
NOTHING_TO_NAME = {
    "accounts.entries_page", "accounts.summary_for_card", "accounts.summary_for_household", "audit_log.event",
    "cards.active_card", "cards.by_number", "cards.cards_of", "cards.for_household", "cards.get",
    "cards.get_active", "donations.donation_income", "donations.fund_movements", "donations.get_donation",
    "donations.get_donor", "donations.get_fund", "donations.get_purchase", "donations.goods_lines",
    "donations.what_it_became", "households.get", "inspections.history", "inspections.latest",
    "inventory.get_product", "inventory.get_stocktake", "inventory.get_zone", "inventory.movements",
    "inventory.provenance", "inventory.stock_in_sources", "inventory.stocktake_rows", "inventory.verify",
    "notices.get", "notices.has_due", "notices.household_objections", "notices.notice_objections",
    "notices.objection_row", "notices.open_for_objection", "notices.open_objection_count",
    "notices.villager_notices", "points.account_for_household", "points.entry_row", "points.entry_rows",
    "points.get_entry", "points.open_claim_count", "points.verify", "redemptions.get", "rules.get",
    "statements.export_xlsx", "statements.passbook", "statements.statement", "totals.verify", "walls.counts",
    "walls.get", "walls.goods_donations", "walls.household_by_number", "inventory.low_stock",
    "inspections.not_passing", "signals.signals", "totals.months", "reports.county_overview",
    "households.group_by_name", "notices.past_published", "checkpoints.household_checks", "photos.read",
    "witness.alarms", "activity.participation", "offline.get_device", "offline.device_by_token",
    "offline.get_record",
    "inventory.correctable",
    "inventory.get_movement",
    "grid.group_ids", "grid.groups", "grid.round_rows", "grid.round_household",
    "points.waiting",
}  # fmt: skip


def _only_village(figures: dict, village_id: int) -> dict:
    """Figures keyed by village id, checked to hold the asked village's alone (ids carry no mark)."""
    assert set(figures) == {village_id}
    return figures


def _own_waiting(session, mine, theirs) -> list:
    """`points.waiting` of `mine` checked against its own waiting claims summed here; a figure that is not
    theirs alone comes back as `theirs`' mark (the figures carry no mark of their own)."""
    figures = points.waiting(session, village_id=mine.village)
    wrong = []
    for name, status in (("held", ClaimStatus.PUBLICIZING), ("pending", ClaimStatus.PENDING)):
        own = session.scalar(
            select(func.coalesce(func.sum(PointsClaim.points), 0)).where(
                PointsClaim.village_id == mine.village,
                PointsClaim.status == status.value,
                PointsClaim.points > 0,
            )
        )
        if getattr(figures, name) != own:
            wrong.append(f"{theirs.mark}: {name}")
    return wrong


def _refused_or(call) -> list:
    """The call's result, or nothing when it refuses (another village's id is unknown here)."""
    try:
        return call()
    except DomainError:
        return []


def _exported(export, session, **arguments) -> bytes:
    target = io.BytesIO()
    export(session, target=target, **arguments)
    return target.getvalue()


@pytest.fixture
def clock(monkeypatch):
    return lambda moment: monkeypatch.setattr(notices, "utcnow", lambda: moment)


@pytest.fixture
def two(session, clock):
    """Villages 甲 and 乙, each with data of every kind (`tests.journey`)."""
    villages_ = SimpleNamespace(mine=live("jia", "甲", clock), theirs=live("yi", "乙", clock))
    for v in (villages_.mine, villages_.theirs):
        _complete(session, v)
    session.rollback()
    return villages_


def _complete(session, v) -> None:
    v.account = session.scalar(select(PointsAccount.id).where(PointsAccount.household_id == v.household))
    v.audit_event = session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.village_id == v.village))
    v.household_number = households.get(session, village_id=v.village, household_id=v.household).number
    v.grid_worker = session.scalar(
        select(User.id).where(User.village_id == v.village, User.role == "grid")
    ) or _grid_worker(v)


def _grid_worker(v) -> int:
    """A grid worker (网格员) of the village, for its first group."""
    with unit_of_work() as session:
        return users.create_user(
            session,
            actor=None,
            username=f"grid-{v.village}",
            password="password123",
            role="grid",
            village=session.get(Village, v.village),
            group_names=[g.name for g in villages.groups(session, v.village)[:1]],
        ).id


# ---- 1. each service's own village filter ----------------------------------------------------------------


def test_every_service_taking_a_village_is_proven_or_reviewed():
    taking_a_village = {name.removeprefix("lovemart.services.") for name in village_functions()}
    writers = {name.removeprefix("lovemart.services.") for name in writing_functions()}
    unaccounted = taking_a_village - writers - READERS.keys() - NOT_READERS.keys()
    assert unaccounted == set(), "add a call to READERS (or a reviewed reason to NOT_READERS)"
    assert READERS.keys() <= taking_a_village and NOT_READERS.keys() <= taking_a_village  # no stale names
    assert not READERS.keys() & writers


def test_every_list_and_get_keeps_to_its_village_without_the_orm_scope(session, two):
    leaks, blind = {}, []
    with scope.unrestricted(session):
        for name, call in READERS.items():
            try:
                result = call(session, two.mine, two.theirs)
            except DomainError:  # refused (NotFound, NoPointsAccount, UnknownGroup…): nothing returned
                session.rollback()
                continue
            if found := list(_marks(result, two.theirs)):
                leaks[name] = found[:3]
            if name not in NOTHING_TO_NAME and not list(_marks(result, two.mine)):
                blind.append(name)
            session.rollback()
    assert leaks == {}, "services that return another village's rows"
    assert blind == [], "readers that showed nothing of their own village: the call proves nothing"


def _marks(value, village, seen=None):
    """What in `value` belongs to `village`: its rows (by `village_id`) and the texts carrying its mark."""
    seen = set() if seen is None else seen
    if id(value) in seen or value is None or isinstance(value, (bool, int, float, date)):
        return
    seen.add(id(value))
    if isinstance(value, str):
        if village.mark in value:
            yield value
    elif isinstance(value, (bytes, io.BytesIO)):
        yield from _marks(_texts(value.getvalue() if isinstance(value, io.BytesIO) else value), village, seen)
    elif hasattr(value, "_sa_instance_state"):
        if isinstance(value, VillageScoped) and value.village_id == village.village:
            yield f"{type(value).__name__} #{value.id}"
        for column in value.__table__.columns:
            yield from _marks(getattr(value, column.key, None), village, seen)
    elif dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            yield from _marks(getattr(value, field.name), village, seen)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _marks(key, village, seen)
            yield from _marks(item, village, seen)
    elif isinstance(value, (list, tuple, set, frozenset)) or type(value).__name__ == "Row":
        for item in value:
            yield from _marks(item, village, seen)
    elif isinstance(value, SimpleNamespace):
        yield from _marks(vars(value), village, seen)


def _texts(data: bytes) -> list[str]:
    """The cell texts of a workbook, or the text of anything else."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True)
    except (BadZipFile, OSError, KeyError):
        return [data.decode("utf-8", "replace")]
    return [str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row if cell]


# ---- 2. the ORM scope on its own -------------------------------------------------------------------------


def test_the_orm_scope_alone_keeps_every_village_owned_model_to_the_session_villages(session, two):
    """No service here: plain unfiltered queries, restricted to 甲, see only 甲's rows of every model."""
    models = sorted(
        (m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, VillageScoped)),
        key=lambda model: model.__name__,
    )
    assert len(models) >= 20
    theirs = {  # one row of each model that belongs to 乙
        model: session.scalar(select(model.id).where(model.village_id == two.theirs.village).limit(1))
        for model in models
        if "id" in model.__table__.columns
    }
    assert None not in theirs.values(), "the journey should leave rows of every model"
    with scope.across(session, [two.mine.village]):
        seen = {model.__name__: set(session.scalars(select(model.village_id).distinct())) for model in models}
        found = {model.__name__: session.get(model, row_id) for model, row_id in theirs.items()}
    assert {name: ids for name, ids in seen.items() if ids != {two.mine.village}} == {}
    assert {name: row for name, row in found.items() if row is not None} == {}


# ---- 3. every statement on a village-owned table carries a village condition -----------------------------

#: Tables whose rows belong to one village, by their `village_id` column.
VILLAGE_OWNED = sorted(
    table.name
    for table in db.metadata.sorted_tables
    if "village_id" in table.columns and table.name != "users"
)

#: `village_id = ?` or `village_id IN (?, …)`, with a bound value (not a join's `a.village_id = b.id`).
VILLAGE_CONDITION = re.compile(r"\bvillage_id\s*(=|IN)\s*\(?\s*(\?|%\(\w+\)s)", re.I)

#: Lookups by a key, without a village condition: the key is the id of a row that the same service read
#: with one (its village's row, proven by `test_every_list_and_get_keeps_to_its_village_…`), or of a row it
#: just wrote. (table, key column) → why.
KEYED = {
    ("*", "id"): "a row by its primary key: identity loads, flushes of loaded rows, session.get then a check",
    ("ledger_entries", "account_id"): "an account's entries, the account read with its village",
    ("ledger_entries", "redemption_id"): "a redemption's entry, the redemption read with its village",
    ("ledger_entries", "reversal_of_id"): "an entry's reversal, the entry read with its village",
    ("cards", "account_id"): "an account's cards, the account read with its village",
    ("cards", "household_id"): "a household's cards, the household read with its village",
    ("wishes", "household_id"): "a household's open wishes, the household read with its village",
    ("fund_movements", "fund_id"): "a fund's movements, the fund read with its village",
    ("members", "household_id"): "a household's members, the household read with its village",
    ("stock_movements", "product_id"): "a product's movements, the product read with its village",
    ("points_accounts", "household_id"): "a household's account, the household read with its village",
    ("stock_movements", "donation_id"): "a donation's stock-ins, the donation read with its village",
    ("stock_movements", "stocktake_id"): "a stocktake's corrections, the stocktake read with its village",
    ("objections", "notice_id"): "a notice's objections, the notice read with its village",
    ("objections", "household_id"): "a household's objections to notices read with their village",
    ("points_claims", "notice_id"): "a notice's held claims, the notice read with its village",
    ("redemptions", "idempotency_key"): "a replayed key: unique across villages, the village compared after",
    ("offline_redemptions", "request_key"): "a replayed key (idempotency.replayed), the village compared",
}

#: System checks that read every village's books on purpose (`lovemart verify`), by the service function.
ACROSS_VILLAGES = {"points.verify", "inventory.verify", "totals.verify", "redemptions.verify"}


def test_every_statement_on_a_village_owned_table_has_a_village_condition(app, session, clock):
    """Every statement the services run while a village lives its whole life (every writer), and while
    every reader looks at it, with the ORM scope off: Core statements too (the counter's hot path)."""
    live("jia", "甲", clock)
    run: list[tuple[str, str]] = []

    def capture(_conn, _cursor, statement, _parameters, _context, _executemany):
        if service := _calling_service():
            run.append((service, " ".join(statement.split())))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        theirs = live("yi", "乙", clock)
        _complete(session, theirs)
        with scope.unrestricted(session):
            for call in READERS.values():
                try:
                    call(session, theirs, theirs)
                except DomainError:
                    pass
                session.rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert len({service for service, _sql in run}) > 50
    unfiltered = sorted({f"{service}: {sql}" for service, sql in run if _unfiltered(service, sql)})
    assert unfiltered == [], "without a village condition:\n" + "\n".join(unfiltered)


def _calling_service() -> str | None:
    """`module.function` of the innermost service on the stack (None: the statement is a test's own)."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if "/lovemart/services/" in path:
            return f"{Path(path).stem}.{frame.f_code.co_name.lstrip('_')}"
        frame = frame.f_back
    return None


def _unfiltered(service: str, sql: str) -> bool:
    verb = sql.split(" ", 1)[0].upper()
    if verb not in {"SELECT", "UPDATE", "DELETE", "WITH"} or service in ACROSS_VILLAGES:
        return False  # INSERTs name their village in the row they write
    tables = set(re.findall(r"(?:FROM|JOIN|UPDATE) \"?(\w+)\"?", sql, re.I)) & set(VILLAGE_OWNED)
    if not tables or VILLAGE_CONDITION.search(sql):
        return False
    keyed = re.search(r"\bWHERE \(?(?:(\w+)\.)?(\w+) (?:=|IN) ", sql, re.I)
    if keyed is None:
        return True
    table, column = keyed.group(1) or next(iter(tables)), keyed.group(2)
    table = re.sub(r"_\d+$", "", table)  # an alias of the table (households_1)
    return ("*", column) not in KEYED and (table, column) not in KEYED
