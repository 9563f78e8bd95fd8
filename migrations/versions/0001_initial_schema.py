"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('brews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('facilitator_id', sa.BigInteger(), nullable=True),
    sa.Column('channel_id', sa.BigInteger(), nullable=True),
    sa.Column('card_message_id', sa.BigInteger(), nullable=True),
    sa.Column('group_size', sa.Integer(), nullable=False),
    sa.Column('length_s', sa.Integer(), nullable=False),
    sa.Column('arrive_s', sa.Integer(), nullable=False),
    sa.Column('think_s', sa.Integer(), nullable=False),
    sa.Column('turn_s', sa.Integer(), nullable=False),
    sa.Column('nudge_s', sa.Integer(), nullable=False),
    sa.Column('still_s', sa.Integer(), nullable=False),
    sa.Column('close_s', sa.Integer(), nullable=False),
    sa.Column('min_reflect_s', sa.Integer(), nullable=False),
    sa.Column('cleanup_s', sa.Integer(), nullable=False),
    sa.Column('speed', sa.Float(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('perspectives', sa.JSON(), nullable=False),
    sa.Column('category_ids', sa.JSON(), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('rooms_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reflection_secret', sa.LargeBinary(length=64), nullable=True),
    sa.Column('reflections_close_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brews')),
    sa.UniqueConstraint('guild_id', 'number', name='uq_brews_guild_number')
    )
    with op.batch_alter_table('brews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_brews_guild_id'), ['guild_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_brews_status'), ['status'], unique=False)

    op.create_table('guild_settings',
    sa.Column('guild_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('facilitator_role_id', sa.BigInteger(), nullable=True),
    sa.Column('organiser_role_id', sa.BigInteger(), nullable=True),
    sa.Column('main_voice_channel_id', sa.BigInteger(), nullable=True),
    sa.Column('area_label', sa.String(length=100), nullable=True),
    sa.Column('pair_secret', sa.LargeBinary(length=64), nullable=True),
    sa.Column('next_brew_number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('guild_id', name=op.f('pk_guild_settings'))
    )
    op.create_table('keep_apart',
    sa.Column('guild_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('pair_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('guild_id', 'pair_key', name=op.f('pk_keep_apart'))
    )
    op.create_table('pair_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('brew_id', sa.Integer(), nullable=False),
    sa.Column('pair_key', sa.String(length=64), nullable=False),
    sa.Column('met_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['brew_id'], ['brews.id'], name=op.f('fk_pair_history_brew_id_brews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pair_history'))
    )
    with op.batch_alter_table('pair_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pair_history_brew_id'), ['brew_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pair_history_guild_id'), ['guild_id'], unique=False)

    op.create_table('reflections',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('brew_id', sa.Integer(), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['brew_id'], ['brews.id'], name=op.f('fk_reflections_brew_id_brews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reflections')),
    # No hidden row number on SQLite: rows are kept in the order of their random ids, so the
    # file does not record who answered first.
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('reflections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reflections_brew_id'), ['brew_id'], unique=False)

    op.create_table('rooms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brew_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('voice_channel_id', sa.BigInteger(), nullable=True),
    sa.Column('text_channel_id', sa.BigInteger(), nullable=True),
    sa.Column('turns_in_text', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('phase_ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finish_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('still_wall_s', sa.Float(), nullable=False),
    sa.Column('turn_order', sa.JSON(), nullable=False),
    sa.Column('turn_index', sa.Integer(), nullable=False),
    sa.Column('nudged', sa.Boolean(), nullable=False),
    sa.Column('extended', sa.Boolean(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('outbox_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['brew_id'], ['brews.id'], name=op.f('fk_rooms_brew_id_brews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rooms')),
    sa.UniqueConstraint('brew_id', 'index', name='uq_rooms_brew_index')
    )
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rooms_brew_id'), ['brew_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rooms_text_channel_id'), ['text_channel_id'], unique=False)

    op.create_table('signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('brew_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('text_only', sa.Boolean(), nullable=False),
    sa.Column('perspective', sa.String(length=40), nullable=True),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brew_id'], ['brews.id'], name=op.f('fk_signups_brew_id_brews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signups')),
    sa.UniqueConstraint('brew_id', 'user_id', name='uq_signups_brew_user')
    )
    with op.batch_alter_table('signups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signups_brew_id'), ['brew_id'], unique=False)

    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('brew_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('text_only', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['brew_id'], ['brews.id'], name=op.f('fk_memberships_brew_id_brews'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_memberships_room_id_rooms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('brew_id', 'user_id', name='uq_memberships_brew_user')
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_brew_id'), ['brew_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_room_id'), ['room_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_user_id'), ['user_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('nonce', sa.String(length=25), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('ping_user_id', sa.BigInteger(), nullable=True),
    sa.Column('buttons', sa.String(length=64), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_outbox_room_id_rooms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('nonce', name=op.f('uq_outbox_nonce'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_room_id'), ['room_id'], unique=False)

    op.create_table('reflection_receipts',
    sa.Column('brew_id', sa.Integer(), nullable=False),
    sa.Column('receipt', sa.String(length=64), nullable=False),
    sa.Column('reflection_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['brew_id'], ['brews.id'], name=op.f('fk_reflection_receipts_brew_id_brews'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reflection_id'], ['reflections.id'], name=op.f('fk_reflection_receipts_reflection_id_reflections'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('brew_id', 'receipt', name=op.f('pk_reflection_receipts'))
    )
    with op.batch_alter_table('reflection_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reflection_receipts_reflection_id'), ['reflection_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('reflection_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reflection_receipts_reflection_id'))

    op.drop_table('reflection_receipts')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_room_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_user_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_room_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_brew_id'))

    op.drop_table('memberships')
    with op.batch_alter_table('signups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signups_brew_id'))

    op.drop_table('signups')
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rooms_text_channel_id'))
        batch_op.drop_index(batch_op.f('ix_rooms_brew_id'))

    op.drop_table('rooms')
    with op.batch_alter_table('reflections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reflections_brew_id'))

    op.drop_table('reflections')
    with op.batch_alter_table('pair_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pair_history_guild_id'))
        batch_op.drop_index(batch_op.f('ix_pair_history_brew_id'))

    op.drop_table('pair_history')
    op.drop_table('keep_apart')
    op.drop_table('guild_settings')
    with op.batch_alter_table('brews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_brews_status'))
        batch_op.drop_index(batch_op.f('ix_brews_guild_id'))

    op.drop_table('brews')

