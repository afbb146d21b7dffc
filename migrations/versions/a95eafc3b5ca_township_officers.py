"""Township officers (乡镇): users.township_id and the 'township' role

Revision ID: a95eafc3b5ca
Revises: fdf6b3c08fd4
Create Date: 2026-12-04 04:28:55.544455

"""

import sqlalchemy as sa
from alembic import op

revision = "a95eafc3b5ca"
down_revision = "fdf6b3c08fd4"
branch_labels = None
depends_on = None

_BINDING = (
    "(role IN ('admin', 'leader', 'supervisor') AND village_id IS NOT NULL AND county_id IS NULL)"
    " OR (role = 'county' AND county_id IS NOT NULL AND village_id IS NULL)"
    " OR (role = 'sysadmin' AND village_id IS NULL AND county_id IS NULL)"
)
_TOWNSHIP = " OR (role = 'township' AND township_id IS NOT NULL AND village_id IS NULL AND county_id IS NULL)"
_ROLES = "'admin', 'supervisor', 'leader', 'county'"


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("township_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_township_id"), ["township_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_users_township_id_townships"), "townships", ["township_id"], ["id"]
        )
        batch_op.drop_constraint(batch_op.f("ck_users_role_binding"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_users_role_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_users_role_binding"), _BINDING + _TOWNSHIP)
        batch_op.create_check_constraint(
            batch_op.f("ck_users_role_known"), f"role IN ({_ROLES}, 'township', 'sysadmin')"
        )


def downgrade():
    op.execute("DELETE FROM users WHERE role = 'township'")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_role_binding"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_users_role_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_users_role_binding"), _BINDING)
        batch_op.create_check_constraint(batch_op.f("ck_users_role_known"), f"role IN ({_ROLES}, 'sysadmin')")
        batch_op.drop_constraint(batch_op.f("fk_users_township_id_townships"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_users_township_id"))
        batch_op.drop_column("township_id")
