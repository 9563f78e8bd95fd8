"""reliability: what makes a queued post stale, and the last post known to be in a room

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-05
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('for_phase', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('for_turn', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_posted_id', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.drop_column('last_posted_id')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('valid_until')
        batch_op.drop_column('for_turn')
        batch_op.drop_column('for_phase')
