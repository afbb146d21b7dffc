"""Every model module, imported so that the app and Alembic see the whole metadata."""

from lovemart.models.audit import AuditEvent
from lovemart.models.cards import Card
from lovemart.models.donations import Donation, Donor, Fund, FundMovement, Purchase
from lovemart.models.files import StoredFile
from lovemart.models.geography import County, Township, Village, VillagerGroup
from lovemart.models.households import Household, HouseholdStatus, Member
from lovemart.models.inspections import Inspection
from lovemart.models.inventory import Product, StockMovement, Stocktake, StocktakeLine, Zone
from lovemart.models.notices import Notice, Objection
from lovemart.models.offline import CounterDevice, OfflineRedemption
from lovemart.models.points import LedgerBook, LedgerEntry, PointsAccount, PointsClaim
from lovemart.models.redemptions import Redemption, RedemptionLine
from lovemart.models.rules import Rule
from lovemart.models.totals import VillageMonth
from lovemart.models.transparency import Checkpoint, TreeNode, WitnessObservation
from lovemart.models.users import ApiToken, LoginFailure, StaffSession, User, UserGroup
from lovemart.models.walls import Wish

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Card",
    "Checkpoint",
    "CounterDevice",
    "County",
    "Donation",
    "Donor",
    "Fund",
    "FundMovement",
    "Household",
    "HouseholdStatus",
    "Inspection",
    "LedgerBook",
    "LedgerEntry",
    "LoginFailure",
    "Member",
    "Notice",
    "Objection",
    "OfflineRedemption",
    "PointsAccount",
    "PointsClaim",
    "Product",
    "Purchase",
    "Redemption",
    "RedemptionLine",
    "Rule",
    "StaffSession",
    "StockMovement",
    "StoredFile",
    "Stocktake",
    "StocktakeLine",
    "Township",
    "TreeNode",
    "User",
    "UserGroup",
    "Village",
    "VillageMonth",
    "VillagerGroup",
    "Wish",
    "WitnessObservation",
    "Zone",
]
