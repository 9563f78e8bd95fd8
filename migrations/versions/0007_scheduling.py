"""scheduling: brews planned ahead, their occurrences, answers and the moments already done

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('scheduled_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('channel_id', sa.BigInteger(), nullable=True),
    sa.Column('voice_channel_id', sa.BigInteger(), nullable=True),
    sa.Column('facilitator_id', sa.BigInteger(), nullable=True),
    sa.Column('repeat', sa.String(length=16), nullable=False),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('first_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('signup_minutes', sa.Integer(), nullable=False),
    sa.Column('reminder_minutes', sa.JSON(), nullable=False),
    sa.Column('auto_start', sa.Boolean(), nullable=False),
    sa.Column('group_size', sa.Integer(), nullable=True),
    sa.Column('length_s', sa.Integer(), nullable=False),
    sa.Column('turn_s', sa.Integer(), nullable=True),
    sa.Column('think_s', sa.Integer(), nullable=True),
    sa.Column('speed', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_series'))
    )
    with op.batch_alter_table('scheduled_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduled_series_guild_id'), ['guild_id'], unique=False)

    op.create_table('scheduled_occurrences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('guild_id', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('card_message_id', sa.BigInteger(), nullable=True),
    sa.Column('discord_event_id', sa.BigInteger(), nullable=True),
    sa.Column('event_error', sa.String(length=200), nullable=True),
    sa.Column('brew_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brew_id'], ['brews.id'], name=op.f('fk_scheduled_occurrences_brew_id_brews'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['series_id'], ['scheduled_series.id'], name=op.f('fk_scheduled_occurrences_series_id_scheduled_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_occurrences')),
    sa.UniqueConstraint('guild_id', 'number', name='uq_scheduled_occurrences_guild_number'),
    sa.UniqueConstraint('series_id', 'index', name='uq_scheduled_occurrences_series_index')
    )
    with op.batch_alter_table('scheduled_occurrences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduled_occurrences_guild_id'), ['guild_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scheduled_occurrences_series_id'), ['series_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scheduled_occurrences_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_scheduled_occurrences_status'), ['status'], unique=False)

    op.create_table('scheduled_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurrence_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('choice', sa.String(length=8), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('coming_since', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['occurrence_id'], ['scheduled_occurrences.id'], name=op.f('fk_scheduled_answers_occurrence_id_scheduled_occurrences'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_answers')),
    sa.UniqueConstraint('occurrence_id', 'user_id', name='uq_scheduled_answers_occurrence_user')
    )
    with op.batch_alter_table('scheduled_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduled_answers_occurrence_id'), ['occurrence_id'], unique=False)

    op.create_table('scheduled_done',
    sa.Column('occurrence_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['occurrence_id'], ['scheduled_occurrences.id'], name=op.f('fk_scheduled_done_occurrence_id_scheduled_occurrences'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('occurrence_id', 'key', name=op.f('pk_scheduled_done'))
    )


def downgrade() -> None:
    op.drop_table('scheduled_done')
    with op.batch_alter_table('scheduled_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduled_answers_occurrence_id'))

    op.drop_table('scheduled_answers')
    with op.batch_alter_table('scheduled_occurrences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduled_occurrences_status'))
        batch_op.drop_index(batch_op.f('ix_scheduled_occurrences_starts_at'))
        batch_op.drop_index(batch_op.f('ix_scheduled_occurrences_series_id'))
        batch_op.drop_index(batch_op.f('ix_scheduled_occurrences_guild_id'))

    op.drop_table('scheduled_occurrences')
    with op.batch_alter_table('scheduled_series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduled_series_guild_id'))

    op.drop_table('scheduled_series')
