"""`flask --app wsgi lovemart …`: demo, create-village, create-user and api-token."""

from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from lovemart.db import db
from lovemart.models import AuditEvent, Household, HouseholdStatus, Member, User, Village, VillagerGroup
from lovemart.services import users
from lovemart.services.filestore import DatabaseStore, DirectoryStore
from tests.factories import make_village


@contextmanager
def fresh_session(app):
    with app.app_context():
        yield db.session
        db.session.remove()


def invoke(runner, *args):
    return runner.invoke(args=["lovemart", *args])


def village_counts(session, code: str) -> dict:
    village_id = session.scalar(select(Village.id).where(Village.code == code))
    poor = Household.status == HouseholdStatus.POOR.value
    return {
        "households": session.scalar(
            select(func.count(Household.id)).where(Household.village_id == village_id)
        ),
        "people": session.scalar(select(func.count(Member.id)).where(Member.village_id == village_id)),
        "poor_households": session.scalar(
            select(func.count(Household.id)).where(Household.village_id == village_id, poor)
        ),
        "poor_people": session.scalar(
            select(func.count(Member.id))
            .join(Household, Household.id == Member.household_id)
            .where(Member.village_id == village_id, poor)
        ),
    }


def everything(session) -> tuple:
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Village, VillagerGroup, Household, Member, User, AuditEvent)
    )


def test_demo_loads_adao_and_its_neighbours_once(app, runner):
    """One load only (it is the slowest thing in the suite, thinned with --scale): into an empty database,
    with --if-empty. tests/test_demo.py checks the year it carries."""
    result = invoke(runner, "demo", "--if-empty", "--scale", "0.1")
    assert result.exit_code == 0, result.output
    assert "Demo data ready" in result.output and "demo1234" in result.output
    with fresh_session(app) as session:
        adao = session.scalar(select(Village).where(Village.code == "adao"))
        assert adao.name == "啊道村" and adao.township.name == "英旺乡" and adao.county.name == "宜川县"
        assert [g.name for g in adao.groups] == ["啊道", "富庄", "杜河沟"]
        assert village_counts(session, "adao") == {
            "households": 154,
            "people": 668,
            "poor_households": 31,
            "poor_people": 96,
        }
        others = session.scalars(select(Village).where(Village.code != "adao")).all()
        assert len(others) == 4 and {v.county.code for v in others} == {adao.county.code}
        assert {v.township.name for v in others} == {"英旺乡", "交里乡"}
        for other in others:
            assert 0 < village_counts(session, other.code)["households"] < 154
        roles = set(session.scalars(select(User.role)))
        assert roles == {"admin", "supervisor", "leader", "county", "township", "sysadmin", "grid"}
        heads = session.scalar(
            select(func.count(Member.id)).where(Member.village_id == adao.id, Member.relation == "head")
        )
        assert heads == 154  # one head per household
        names = session.scalars(select(Member.name).where(Member.village_id == adao.id)).all()
        assert all(2 <= len(name) <= 3 for name in names)  # surname and a one- or two-character given name
        before = everything(session)

    again = invoke(runner, "demo")
    assert again.exit_code == 0, again.output
    skipped = invoke(runner, "demo", "--if-empty")
    assert skipped.exit_code == 0 and "already has data" in skipped.output
    with fresh_session(app) as session:
        assert everything(session) == before

    client = app.test_client()  # the printed accounts work, and the administrator finds a household by name
    assert client.post("/login", data={"username": "admin", "password": "demo1234"}).status_code == 302
    with fresh_session(app) as session:
        name = session.scalar(
            select(Member.name)
            .where(Member.village_id == adao.id, Member.relation == "head")
            .order_by(Member.id)
        )
    text = client.get(f"/households/?q={name}").get_data(as_text=True)
    assert "啊道村" in text and name in text.split("<tbody>", 1)[1]


def test_demo_if_empty_leaves_an_existing_installation_alone(app, runner):
    with app.app_context():
        make_village("mine")
    result = invoke(runner, "demo", "--if-empty")
    assert result.exit_code == 0 and "already has data" in result.output
    with fresh_session(app) as session:
        assert session.scalars(select(Village.code)).all() == ["mine"]
        assert session.scalar(select(func.count(Household.id))) == 0


def create_village(runner, code="hexi", *extra):
    return invoke(
        runner,
        "create-village",
        code,
        "--name",
        "河西村",
        "--township",
        "英旺乡",
        "--county-code",
        "yichuan",
        "--county-name",
        "宜川县",
        "--group",
        "一组",
        "--group",
        "二组",
        *extra,
    )


def test_create_village(app, runner):
    result = create_village(runner, "hexi", "--base-points", "50", "--yuan-per-point", "2")
    assert result.exit_code == 0, result.output
    assert "Created village hexi (河西村) with 2 groups." in result.output
    with fresh_session(app) as session:
        village = session.scalar(select(Village).where(Village.code == "hexi"))
        assert (village.base_points, village.yuan_per_point, village.card_prefix) == (50, 2, "HEXI")
        assert [g.name for g in village.groups] == ["一组", "二组"]
        event = session.scalar(select(AuditEvent).where(AuditEvent.tag == "village:village:create"))
        assert event.actor_name == "system" and event.actor_id is None and event.subject_id == village.id


def test_create_village_refusals(app, runner):
    assert create_village(runner).exit_code == 0
    duplicate = create_village(runner)
    assert duplicate.exit_code != 0 and "村代码 hexi 已被使用。" in duplicate.output
    bad_code = create_village(runner, "bad code")
    assert bad_code.exit_code != 0 and "村代码只能包含字母、数字和连字符。" in bad_code.output
    negative = create_village(runner, "other", "--yuan-per-point", "0")
    assert negative.exit_code != 0 and "每分折合金额必须大于零" in negative.output
    missing = invoke(runner, "create-village", "x", "--name", "x村")
    assert missing.exit_code != 0
    with fresh_session(app) as session:
        assert session.scalars(select(Village.code)).all() == ["hexi"]


def test_create_user(app, runner):
    create_village(runner)
    result = invoke(
        runner,
        "create-user",
        "wang",
        "--role",
        "admin",
        "--village",
        "hexi",
        "--password",
        "secret-pass",
        "--name",
        "王",
    )
    assert result.exit_code == 0, result.output
    assert "Created admin wang." in result.output
    county = invoke(
        runner, "create-user", "xian", "--role", "county", "--village", "hexi", "--password", "secret-pass"
    )
    system = invoke(runner, "create-user", "root", "--role", "sysadmin", "--password", "secret-pass")
    assert county.exit_code == 0 and system.exit_code == 0, county.output + system.output
    with fresh_session(app) as session:
        wang = users.by_username(session, "wang")
        assert wang.role == "admin" and wang.village.code == "hexi" and wang.display_name == "王"
        assert users.authenticate(session, username="wang", password="secret-pass").id == wang.id
        xian = users.by_username(session, "xian")
        assert xian.village_id is None and xian.county.code == "yichuan"
        assert users.by_username(session, "root").village_id is None


def test_create_a_grid_worker_with_their_groups(app, runner):
    create_village(runner)
    base = ["create-user", "wangge", "--role", "grid", "--village", "hexi", "--password", "secret-pass"]
    refused = invoke(runner, *base)
    assert refused.exit_code == 1 and "网格员至少要负责一个村民小组。" in refused.output
    result = invoke(runner, *base, "--groups", "二组,一组")
    assert result.exit_code == 0 and "Created grid wangge." in result.output, result.output
    with fresh_session(app) as session:
        assert [g.name for g in users.by_username(session, "wangge").groups] == ["一组", "二组"]


def test_create_user_refusals(app, runner):
    create_village(runner)
    invoke(runner, "create-user", "wang", "--role", "admin", "--village", "hexi", "--password", "secret-pass")
    cases = [
        (["zhao", "--role", "admin", "--village", "nowhere", "--password", "secret-pass"], "找不到该记录。"),
        (
            ["wang", "--role", "leader", "--village", "hexi", "--password", "secret-pass"],
            "用户名 wang 已被使用。",
        ),
        (["zhao", "--role", "admin", "--password", "secret-pass"], "该角色必须属于一个村。"),
        (["zhao", "--role", "admin", "--village", "hexi", "--password", "short"], "密码至少需要 8 个字符。"),
        (["zhao", "--role", "emperor", "--village", "hexi", "--password", "secret-pass"], "emperor"),
    ]
    for args, message in cases:
        result = invoke(runner, "create-user", *args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
    with fresh_session(app) as session:
        assert session.scalars(select(User.username)).all() == ["wang"]


def test_api_token_prints_a_token_that_authenticates(app, runner, client):
    create_village(runner)
    invoke(runner, "create-user", "wang", "--role", "admin", "--village", "hexi", "--password", "secret-pass")
    result = invoke(runner, "api-token", "wang")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert len(token) >= 32 and "\n" not in token
    response = client.get("/api/v1/households/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["meta"]["total"] == 0
    with fresh_session(app) as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.tag == "user:api-token:create"))
        assert event.actor_name == "system" and token not in str(event.data)

    second = invoke(runner, "api-token", "wang").output.strip()
    assert second != token  # a new token every time; the first keeps working
    assert client.get("/api/v1/households/", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    unknown = invoke(runner, "api-token", "nobody")
    assert unknown.exit_code != 0 and "找不到该记录" in unknown.output


def county_roster(households: int) -> list[list[str]]:
    """`households` households of three people each, in groups 一组 and 二组."""
    rows = []
    for n in range(1, households + 1):
        number, group = f"{n:05d}", ("一组", "二组")[n % 2]
        rows += [
            [number, group, f"户主{n}", "户主", "男", "1960", f"{group}{n}号", "", "一般户"],
            [number, "", f"配偶{n}", "配偶", "女", "1962", "", "", ""],
            [number, "", f"子女{n}", "子女", "男", "1990", "", "", ""],
        ]
    return rows


def test_import_households_takes_a_roster_beyond_the_web_pages_limit(app, runner, tmp_path, monkeypatch):
    from lovemart.services import spreadsheets
    from tests.rosters import xlsx

    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 30)  # the web page's bound, made small: 60 rows exceed it
    create_village(runner)
    roster = tmp_path / "花名册.xlsx"
    roster.write_bytes(xlsx(county_roster(20)))
    result = invoke(runner, "import-households", "hexi", str(roster))
    assert result.exit_code == 0, result.output
    assert "花名册" in result.output and "20 households imported into hexi" in result.output
    with fresh_session(app) as session:
        assert village_counts(session, "hexi") | {"poor_households": 0, "poor_people": 0} == {
            "households": 20,
            "people": 60,
            "poor_households": 0,
            "poor_people": 0,
        }
        assert session.scalar(
            select(AuditEvent.data).where(AuditEvent.tag == "household:household:import")
        ) == {
            "households": 20,
            "people": 60,
            "file": "花名册.xlsx",
        }


def test_import_households_refuses_a_bad_roster_whole(app, runner, tmp_path):
    from tests.rosters import csv_bytes

    create_village(runner)
    rows = county_roster(3)
    rows[4][4] = "未知"  # the second household's spouse: no such gender
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes(rows))
    result = invoke(runner, "import-households", "hexi", str(roster))
    assert result.exit_code != 0
    assert "第 6 行" in result.output and "导入文件有 1 处错误，未导入任何数据。" in result.output
    unknown = invoke(runner, "import-households", "nowhere", str(roster))
    assert unknown.exit_code != 0
    with fresh_session(app) as session:
        assert village_counts(session, "hexi")["households"] == 0


def test_witness_polls_every_village_and_fails_naming_a_rewritten_one(app, runner, monkeypatch):
    from tests.transparency import publish_months, rewrite_entry

    with app.app_context():
        world = publish_months(monkeypatch, months=1)
    result = invoke(runner, "witness")
    assert result.exit_code == 0, result.output
    assert "OK: every village's books extend what the witness saw before." in result.output
    with app.app_context():
        rewrite_entry(world.village, 2, note="改过的说明", rebuild_tree=True)
    result = invoke(runner, "witness")
    assert result.exit_code == 1
    assert "FORK a村: the tree at 6 entries does not extend the 6 entries witnessed before" in result.output
    verify = invoke(runner, "verify")  # the hash chain still remembers what the tree forgot
    assert verify.exit_code == 1 and "entry #2 does not match its hash" in verify.output


def test_copy_files_brings_the_instance_folders_photos_into_the_database(app, runner):
    with app.app_context():
        village = make_village("a")
    DirectoryStore(Path(app.instance_path) / "photos", ".jpg").put(village, "c" * 32, b"old photo")
    for expected in ("photo: 1 file(s)", "photo: 0 file(s)"):  # the second run finds it there
        result = invoke(runner, "copy-files")
        assert result.exit_code == 0 and expected in result.output, result.output
    with app.app_context():
        assert DatabaseStore(db.session, "photo").get(village, "c" * 32) == b"old photo"
