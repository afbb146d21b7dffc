"""The offline counter: registered counter devices, the redemptions they made offline, and each village's
offline cap (villages.offline_cap_points)

Revision ID: 3d165f07e707
Revises: 3c1d2e9b7a41
Create Date: 2026-12-04 21:06:50.575973

"""
import sqlalchemy as sa
from alembic import op

import lovemart.db

revision = '3d165f07e707'
down_revision = '3c1d2e9b7a41'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('counter_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('offline_enabled', sa.Boolean(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('registered_by_id', sa.Integer(), nullable=True),
    sa.Column('registered_at', lovemart.db.UTCDateTime(), nullable=False),
    sa.Column('last_sync_at', lovemart.db.UTCDateTime(), nullable=True),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('last_seq >= 0', name=op.f('ck_counter_devices_last_seq_not_negative')),
    sa.ForeignKeyConstraint(['registered_by_id'], ['users.id'], name=op.f('fk_counter_devices_registered_by_id_users')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_counter_devices_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counter_devices')),
    sa.UniqueConstraint('id', 'village_id', name=op.f('uq_counter_devices_id_village_id')),
    sa.UniqueConstraint('token', name=op.f('uq_counter_devices_token'))
    )
    with op.batch_alter_table('counter_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counter_devices_village_id'), ['village_id'], unique=False)

    op.create_table('offline_redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('request_key', sa.String(length=80), nullable=False),
    sa.Column('request_digest', sa.String(length=64), nullable=False),
    sa.Column('card_number', sa.String(length=40), nullable=False),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('total_points', sa.Integer(), nullable=False),
    sa.Column('provisional_no', sa.String(length=40), nullable=False),
    sa.Column('client_at', lovemart.db.UTCDateTime(), nullable=False),
    sa.Column('clock_skew_seconds', sa.Integer(), nullable=False),
    sa.Column('snapshot_taken_at', lovemart.db.UTCDateTime(), nullable=False),
    sa.Column('snapshot_age_seconds', sa.Integer(), nullable=False),
    sa.Column('received_at', lovemart.db.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('problem', sa.String(length=200), nullable=False),
    sa.Column('redemption_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', lovemart.db.UTCDateTime(), nullable=True),
    sa.Column('decision_reason', sa.String(length=200), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("(status IN ('accepted', 'recovered')) = (decided_at IS NOT NULL)", name=op.f('ck_offline_redemptions_decided_has_time')),
    sa.CheckConstraint("(status IN ('applied', 'accepted')) = (redemption_id IS NOT NULL)", name=op.f('ck_offline_redemptions_booked_has_redemption')),
    sa.CheckConstraint("status IN ('applied', 'pending', 'accepted', 'recovered')", name=op.f('ck_offline_redemptions_status_known')),
    sa.CheckConstraint('seq > 0', name=op.f('ck_offline_redemptions_seq_positive')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_offline_redemptions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['device_id', 'village_id'], ['counter_devices.id', 'counter_devices.village_id'], name=op.f('fk_offline_redemptions_device_id_village_id_counter_devices')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_offline_redemptions_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_offline_redemptions_redemption_id_redemptions')),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_offline_redemptions_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offline_redemptions')),
    sa.UniqueConstraint('device_id', 'seq', name=op.f('uq_offline_redemptions_device_id_seq')),
    sa.UniqueConstraint('redemption_id', name=op.f('uq_offline_redemptions_redemption_id')),
    sa.UniqueConstraint('request_key', name=op.f('uq_offline_redemptions_request_key'))
    )
    with op.batch_alter_table('offline_redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offline_redemptions_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offline_redemptions_village_id'), ['village_id'], unique=False)

    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offline_cap_points', sa.Integer(), server_default='100', nullable=False))
        batch_op.create_check_constraint(
            batch_op.f('ck_villages_offline_cap_not_negative'), 'offline_cap_points >= 0'
        )



def downgrade():
    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_villages_offline_cap_not_negative'), type_='check')
        batch_op.drop_column('offline_cap_points')

    with op.batch_alter_table('offline_redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offline_redemptions_village_id'))
        batch_op.drop_index(batch_op.f('ix_offline_redemptions_device_id'))

    op.drop_table('offline_redemptions')
    with op.batch_alter_table('counter_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counter_devices_village_id'))

    op.drop_table('counter_devices')
