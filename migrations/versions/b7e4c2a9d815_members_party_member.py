"""members.party_member: 党员, read from the roster, so rankings and the 红黑榜 can show 党员户 apart

Revision ID: b7e4c2a9d815
Revises: c0e1d2a3b4f5
Create Date: 2026-12-04 21:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b7e4c2a9d815"
down_revision = "c0e1d2a3b4f5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("party_member", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("party_member")
