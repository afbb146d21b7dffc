"""stock_movements: the correction kind (更正入库), naming the stock-in it puts right (corrects_id)

Revision ID: c0e1d2a3b4f5
Revises: 3d165f07e707
Create Date: 2026-12-04 21:20:00

On SQLite the batch operation rebuilds the table, which drops its append-only triggers: they are made again
afterwards (PostgreSQL alters the table in place and keeps them).
"""

import sqlalchemy as sa
from alembic import op

revision = "c0e1d2a3b4f5"
down_revision = "3d165f07e707"
branch_labels = None
depends_on = None

KINDS = "'stock_in', 'redemption', 'return', 'adjustment', 'write_off', 'handover'"
SIGNS = (
    "(kind IN ('stock_in', 'return') AND quantity > 0)"
    " OR (kind IN ('redemption', 'write_off', 'handover') AND quantity < 0)"
)


def upgrade():
    _drop_sqlite_triggers()
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("corrects_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_stock_movements_corrects_id"), ["corrects_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_stock_movements_corrects_id_stock_movements"),
            "stock_movements",
            ["corrects_id"],
            ["id"],
        )
        batch_op.drop_constraint(batch_op.f("ck_stock_movements_kind_known"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_stock_movements_sign_matches_kind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_stock_movements_kind_known"), f"kind IN ({KINDS}, 'correction')"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_stock_movements_sign_matches_kind"),
            f"{SIGNS} OR kind IN ('adjustment', 'correction')",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_stock_movements_correction_names_stock_in"),
            "(kind = 'correction') = (corrects_id IS NOT NULL)",
        )
    _create_sqlite_triggers()


def downgrade():
    _drop_sqlite_triggers()
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_stock_movements_correction_names_stock_in"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_stock_movements_sign_matches_kind"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_stock_movements_kind_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_stock_movements_kind_known"), f"kind IN ({KINDS})")
        batch_op.create_check_constraint(
            batch_op.f("ck_stock_movements_sign_matches_kind"), f"{SIGNS} OR kind = 'adjustment'"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_stock_movements_corrects_id_stock_movements"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_stock_movements_corrects_id"))
        batch_op.drop_column("corrects_id")
    _create_sqlite_triggers()


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _drop_sqlite_triggers():
    if _sqlite():
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS stock_movements_no_{event}")


def _create_sqlite_triggers():
    """As revision f7f61f5dd2b5 made them: stock movements are never changed or removed."""
    if _sqlite():
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER stock_movements_no_{event.lower()} BEFORE {event} ON stock_movements BEGIN "
                "SELECT RAISE(ABORT, 'stock_movements rows are append-only: write a reversal or adjustment "
                "instead'); END"
            )
