"""villages.quiet_days: after how many days without a ledger entry a household is named as quiet

Revision ID: 3c1d2e9b7a41
Revises: a95eafc3b5ca
Create Date: 2026-12-04 09:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "3c1d2e9b7a41"
down_revision = "a95eafc3b5ca"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("villages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiet_days", sa.Integer(), server_default="60", nullable=False))
        batch_op.create_check_constraint(
            batch_op.f("ck_villages_quiet_days_in_range"), "quiet_days BETWEEN 14 AND 365"
        )


def downgrade():
    with op.batch_alter_table("villages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_villages_quiet_days_in_range"), type_="check")
        batch_op.drop_column("quiet_days")
