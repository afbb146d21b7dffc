"""Every model module, imported so that the app and Alembic see the whole metadata."""

from lovemart.models.audit import AuditEvent
from lovemart.models.geography import County, Township, Village, VillagerGroup
from lovemart.models.households import Household, HouseholdStatus, Member
from lovemart.models.users import ApiToken, User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "County",
    "Household",
    "HouseholdStatus",
    "Member",
    "Township",
    "User",
    "Village",
    "VillagerGroup",
]
