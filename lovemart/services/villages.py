"""Counties, townships, villages with their settings, and villager groups."""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from lovemart.models import County, Township, Village, VillagerGroup
from lovemart.services import activity, audit, inventory, points
from lovemart.services.audit import AuditTag
from lovemart.services.errors import InvalidInput, NotFound, VillageCodeTaken

#: A household's offline allowance above this would be a blank cheque for a lost phone.
OFFLINE_CAP_MAX = 10_000


@dataclass(frozen=True)
class VillageSettings:
    base_points: int = 100
    yuan_per_point: int = 3
    card_prefix: str = ""
    #: 公示后入账: awards count once the notice listing them passed its period without an upheld objection.
    credit_after_notice: bool = False
    notice_days: int = 7
    #: 冷清提醒: a household with no ledger entry for this many days is named on the warnings.
    quiet_days: int = 60
    #: The most one household may spend at an offline counter from one snapshot of balances (0: none).
    offline_cap_points: int = 100
    #: 网格员直接记分: grid workers' awards and deductions count at once instead of waiting for approval.
    grid_awards_direct: bool = False


def get(session: Session, village_id: int) -> Village:
    village = session.get(Village, village_id)
    if village is None:
        raise NotFound()
    return village


def by_code(session: Session, code: str) -> Village:
    village = session.scalar(select(Village).where(Village.code == code))
    if village is None:
        raise NotFound()
    return village


def many(session: Session, village_ids) -> list[Village]:
    return list(session.scalars(select(Village).where(Village.id.in_(village_ids)).order_by(Village.code)))


def all_villages(session: Session) -> list[Village]:
    return list(session.scalars(select(Village).order_by(Village.code)))


def township_village_ids(session: Session, township_id: int) -> list[int]:
    return list(
        session.scalars(select(Village.id).where(Village.township_id == township_id).order_by(Village.code))
    )


def county_village_ids(session: Session, county_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Village.id).join(Township).where(Township.county_id == county_id).order_by(Village.code)
        )
    )


def ensure_county(session: Session, *, code: str, name: str) -> County:
    county = session.scalar(select(County).where(County.code == code))
    if county is None:
        county = County(code=code, name=name)
        session.add(county)
        session.flush()
    return county


def ensure_township(session: Session, *, county: County, name: str) -> Township:
    township = session.scalar(select(Township).where(Township.county_id == county.id, Township.name == name))
    if township is None:
        township = Township(county_id=county.id, name=name)
        session.add(township)
        session.flush()
    return township


def create_village(
    session: Session,
    *,
    actor,
    county_code: str,
    county_name: str,
    township_name: str,
    code: str,
    name: str,
    groups: list[str],
    settings: VillageSettings | None = None,
) -> Village:
    """A village with its groups, creating its county and township on first use."""
    code = code.strip().lower()
    if not code or not code.replace("-", "").isalnum():
        raise InvalidInput(_l("村代码只能包含字母、数字和连字符。"), field="code")
    if session.scalar(select(Village.id).where(Village.code == code)) is not None:
        raise VillageCodeTaken(code=code)
    names = [g.strip() for g in groups if g.strip()]
    if not names:
        raise InvalidInput(_l("至少需要一个村民小组。"), field="groups")
    if len(set(names)) != len(names):
        raise InvalidInput(_l("村民小组名称不能重复。"), field="groups")
    settings = settings or VillageSettings()
    _check_settings(settings)
    county = ensure_county(session, code=county_code, name=county_name)
    township = ensure_township(session, county=county, name=township_name)
    village = Village(
        township_id=township.id,
        code=code,
        name=name.strip(),
        base_points=settings.base_points,
        yuan_per_point=settings.yuan_per_point,
        card_prefix=settings.card_prefix or code.upper(),
        credit_after_notice=settings.credit_after_notice,
        notice_days=settings.notice_days,
        quiet_days=settings.quiet_days,
        offline_cap_points=settings.offline_cap_points,
        grid_awards_direct=settings.grid_awards_direct,
    )
    session.add(village)
    session.flush()
    for position, group_name in enumerate(names):
        session.add(VillagerGroup(village_id=village.id, name=group_name, position=position))
    session.flush()
    inventory.create_default_zones(session, village_id=village.id)
    points.open_book(session, village.id)
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.VILLAGE_CREATE,
        subject=village,
        village_id=village.id,
        data={"after": {"code": code, "name": village.name, "groups": names, **_settings_dict(village)}},
    )
    return village


def update_settings(
    session: Session, *, actor, village_id: int, settings: VillageSettings, at: datetime | None = None
) -> Village:
    _check_settings(settings)
    village = get(session, village_id)
    before = _settings_dict(village)
    village.base_points = settings.base_points
    village.yuan_per_point = settings.yuan_per_point
    village.card_prefix = settings.card_prefix or village.card_prefix
    village.credit_after_notice = settings.credit_after_notice
    village.notice_days = settings.notice_days
    village.quiet_days = settings.quiet_days
    village.offline_cap_points = settings.offline_cap_points
    village.grid_awards_direct = settings.grid_awards_direct
    session.flush()
    audit.record(
        session,
        actor=actor,
        tag=AuditTag.VILLAGE_UPDATE,
        subject=village,
        village_id=village.id,
        data=audit.changes(before, _settings_dict(village)),
        at=at,
    )
    return village


def groups(session: Session, village_id: int) -> list[VillagerGroup]:
    return list(
        session.scalars(
            select(VillagerGroup)
            .where(VillagerGroup.village_id == village_id)
            .order_by(VillagerGroup.position)
        )
    )


def _check_settings(settings: VillageSettings) -> None:
    if settings.base_points < 0:
        raise InvalidInput(_l("基础积分不能为负数。"), field="base_points")
    if settings.yuan_per_point <= 0:
        raise InvalidInput(_l("每分折合金额必须大于零。"), field="yuan_per_point")
    if not 1 <= settings.notice_days <= 60:
        raise InvalidInput(_l("公示期应为 1 到 60 天。"), field="notice_days")
    if not activity.QUIET_DAYS_MIN <= settings.quiet_days <= activity.QUIET_DAYS_MAX:
        raise InvalidInput(
            _l(
                "冷清提醒天数应为 %(low)d 到 %(high)d 天。",
                low=activity.QUIET_DAYS_MIN,
                high=activity.QUIET_DAYS_MAX,
            ),
            field="quiet_days",
        )
    if not 0 <= settings.offline_cap_points <= OFFLINE_CAP_MAX:
        raise InvalidInput(
            _l("离线兑换限额应为 0 到 %(high)d 分。", high=OFFLINE_CAP_MAX), field="offline_cap_points"
        )


def _settings_dict(village: Village) -> dict:
    return {
        "base_points": village.base_points,
        "yuan_per_point": village.yuan_per_point,
        "card_prefix": village.card_prefix,
        "credit_after_notice": village.credit_after_notice,
        "notice_days": village.notice_days,
        "quiet_days": village.quiet_days,
        "offline_cap_points": village.offline_cap_points,
        "grid_awards_direct": village.grid_awards_direct,
    }
