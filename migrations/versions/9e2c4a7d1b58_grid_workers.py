"""Grid workers (网格员): the 'grid' role, users↔villager groups (user_groups), villages.grid_awards_direct

Revision ID: 9e2c4a7d1b58
Revises: b7e4c2a9d815
Create Date: 2026-12-04 21:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "9e2c4a7d1b58"
down_revision = "b7e4c2a9d815"
branch_labels = None
depends_on = None

_REST = (
    " OR (role = 'county' AND county_id IS NOT NULL AND village_id IS NULL)"
    " OR (role = 'sysadmin' AND village_id IS NULL AND county_id IS NULL)"
    " OR (role = 'township' AND township_id IS NOT NULL AND village_id IS NULL AND county_id IS NULL)"
)
_BINDING_BEFORE = (
    "(role IN ('admin', 'leader', 'supervisor') AND village_id IS NOT NULL AND county_id IS NULL)"
)
_BINDING_AFTER = (
    "(role IN ('admin', 'grid', 'leader', 'supervisor') AND village_id IS NOT NULL AND county_id IS NULL)"
)
_ROLES_BEFORE = "role IN ('admin', 'supervisor', 'leader', 'county', 'township', 'sysadmin')"
_ROLES_AFTER = "role IN ('admin', 'supervisor', 'leader', 'county', 'township', 'sysadmin', 'grid')"


def _constraints(batch_op, binding: str, roles: str) -> None:
    batch_op.drop_constraint(batch_op.f("ck_users_role_binding"), type_="check")
    batch_op.drop_constraint(batch_op.f("ck_users_role_known"), type_="check")
    batch_op.create_check_constraint(batch_op.f("ck_users_role_binding"), binding + _REST)
    batch_op.create_check_constraint(batch_op.f("ck_users_role_known"), roles)


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_users_id_village_id"), ["id", "village_id"])
        _constraints(batch_op, _BINDING_AFTER, _ROLES_AFTER)
    with op.batch_alter_table("villages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("grid_awards_direct", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "user_groups",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id", "village_id"],
            ["villager_groups.id", "villager_groups.village_id"],
            name=op.f("fk_user_groups_group_id_village_id_villager_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id", "village_id"],
            ["users.id", "users.village_id"],
            name=op.f("fk_user_groups_user_id_village_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["villages.id"], name=op.f("fk_user_groups_village_id_villages")
        ),
        sa.PrimaryKeyConstraint("user_id", "group_id", name=op.f("pk_user_groups")),
    )
    with op.batch_alter_table("user_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_groups_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_groups_village_id"), ["village_id"], unique=False)


def downgrade():
    with op.batch_alter_table("user_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_groups_village_id"))
        batch_op.drop_index(batch_op.f("ix_user_groups_group_id"))
    op.drop_table("user_groups")
    op.execute("DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE role = 'grid')")
    op.execute("DELETE FROM staff_sessions WHERE user_id IN (SELECT id FROM users WHERE role = 'grid')")
    op.execute("UPDATE users SET role = 'admin', active = false WHERE role = 'grid'")
    with op.batch_alter_table("villages", schema=None) as batch_op:
        batch_op.drop_column("grid_awards_direct")
    with op.batch_alter_table("users", schema=None) as batch_op:
        _constraints(batch_op, _BINDING_BEFORE, _ROLES_BEFORE)
        batch_op.drop_constraint(batch_op.f("uq_users_id_village_id"), type_="unique")
