"""start claims: nobody is in two running brews of one server

A membership carries its server while the brew runs (``active_guild_id``); a unique index on
(active_guild_id, user_id) makes a second start that would take the same person fail in the
database, whichever process or facilitator gets there second. NULL (a finished brew, or rows
from before this revision) never collides. ``brews.claimed_at`` says when a start took the
brew, so one cut short by a crash can be taken over later.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('brews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active_guild_id', sa.BigInteger(), nullable=True))
        batch_op.create_index(
            'uq_memberships_active_guild_user', ['active_guild_id', 'user_id'], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_memberships_active_guild_user')
        batch_op.drop_column('active_guild_id')
    with op.batch_alter_table('brews', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
