"""The database schema: the single source of truth for every brew.

The bot keeps nothing important in memory. A brew's plan, each room's phase, turn order and
deadlines live here, so a restarted bot reloads running brews and puts their timers back.

Privacy shapes the tables (see docs/privacy.md): reflections carry no user, channel, message or
interaction id and only a date; "has this person already answered?" is a keyed hash whose
per-brew secret is destroyed when the reflection window closes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class GuildSettings(Base):
    """One row per Discord server: roles, the main voice room and the area label for reports."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    facilitator_role_id: Mapped[int | None] = mapped_column(BigInteger)
    organiser_role_id: Mapped[int | None] = mapped_column(BigInteger)
    main_voice_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    area_label: Mapped[str | None] = mapped_column(String(100))
    #: Keys the hashes of "who met whom" and keep-apart pairs; never leaves the database.
    pair_secret: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    next_brew_number: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Brew(Base):
    """A brew from sign-up to tidy-up, with the timing it was started with."""

    __tablename__ = "brews"
    __table_args__ = (UniqueConstraint("guild_id", "number", name="uq_brews_guild_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(Text)
    #: open -> starting -> running -> ended (rooms tidied) ; or cancelled / failed
    status: Mapped[str] = mapped_column(String(16), index=True, default="open")
    #: Linked to a person, so cleared by the retention job once the brew is old.
    facilitator_id: Mapped[int | None] = mapped_column(BigInteger)
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    group_size: Mapped[int] = mapped_column(Integer)
    length_s: Mapped[int] = mapped_column(Integer)
    arrive_s: Mapped[int] = mapped_column(Integer)
    think_s: Mapped[int] = mapped_column(Integer)
    turn_s: Mapped[int] = mapped_column(Integer)
    nudge_s: Mapped[int] = mapped_column(Integer)
    still_s: Mapped[int] = mapped_column(Integer)
    close_s: Mapped[int] = mapped_column(Integer)
    min_reflect_s: Mapped[int] = mapped_column(Integer)
    cleanup_s: Mapped[int] = mapped_column(Integer)
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    seed: Mapped[int] = mapped_column(BigInteger)
    perspectives: Mapped[list[str]] = mapped_column(JSON, default=list)
    category_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    participants: Mapped[int] = mapped_column(Integer, default=0)
    rooms_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    #: When ``/brew start`` took it ("starting"): one still starting long after, and not being
    #: started by this process, was cut short by a crash and may be taken over.
    claimed_at: Mapped[datetime | None] = mapped_column()
    paused_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    #: Per-brew key for reflection receipts; set to NULL (destroyed) when the window closes.
    reflection_secret: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    reflections_close_at: Mapped[datetime | None] = mapped_column()

    rooms: Mapped[list[Room]] = relationship(
        back_populates="brew",
        cascade="all, delete-orphan",
        order_by="Room.index",
        passive_deletes=True,
    )
    signups: Mapped[list[Signup]] = relationship(
        back_populates="brew", cascade="all, delete-orphan", passive_deletes=True
    )


class Signup(Base):
    """Someone pressed Join on the sign-up card. User-linked: deleted by retention."""

    __tablename__ = "signups"
    __table_args__ = (UniqueConstraint("brew_id", "user_id", name="uq_signups_brew_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brew_id: Mapped[int] = mapped_column(ForeignKey("brews.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    text_only: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Self-chosen perspective label; discarded when the brew closes, never exported.
    perspective: Mapped[str | None] = mapped_column(String(40))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    brew: Mapped[Brew] = relationship(back_populates="signups")


class Room(Base):
    """One breakout group: its channels and where it is in the timetable."""

    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("brew_id", "index", name="uq_rooms_brew_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brew_id: Mapped[int] = mapped_column(ForeignKey("brews.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    voice_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    text_channel_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    turns_in_text: Mapped[bool] = mapped_column(Boolean, default=False)
    #: opening -> running -> ended ; or failed (a channel was deleted, the room ended early)
    status: Mapped[str] = mapped_column(String(16), default="opening")
    phase: Mapped[str] = mapped_column(String(16), default="arrive")
    phase_ends_at: Mapped[datetime | None] = mapped_column()
    finish_at: Mapped[datetime | None] = mapped_column()
    still_wall_s: Mapped[float] = mapped_column(Float, default=0.0)
    turn_order: Mapped[list[int]] = mapped_column(JSON, default=list)
    turn_index: Mapped[int] = mapped_column(Integer, default=-1)
    nudged: Mapped[bool] = mapped_column(Boolean, default=False)
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Every transition increments step (buttons carry it, so stale presses do nothing).
    step: Mapped[int] = mapped_column(Integer, default=0)
    #: Counts effects queued for this room: each gets a nonce no other message will ever reuse.
    outbox_seq: Mapped[int] = mapped_column(Integer, default=0)
    #: When the room last called a facilitator with "Ask for help" (one call per few minutes).
    help_called_at: Mapped[datetime | None] = mapped_column()
    #: The last message the outbox knows it posted here: after a restart, channel history
    #: newer than this is compared with what is still queued, so nothing is posted twice.
    last_posted_id: Mapped[int | None] = mapped_column(BigInteger)

    brew: Mapped[Brew] = relationship(back_populates="rooms")
    members: Mapped[list[Membership]] = relationship(
        back_populates="room", cascade="all, delete-orphan", passive_deletes=True
    )


class Membership(Base):
    """Who is in which room. User-linked: deleted by retention after the brew ends.

    ``active_guild_id`` is the person's claim on their server while the brew runs: the unique
    index on (active_guild_id, user_id) lets nobody be in two running brews of one server, even
    when two facilitators start at the same moment. A claim whose brew is no longer running (or
    whose room failed) is released by the next start that needs the person
    (:func:`bot.db.brews.mark_started`); NULLs never collide.
    """

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("brew_id", "user_id", name="uq_memberships_brew_user"),
        Index("uq_memberships_active_guild_user", "active_guild_id", "user_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    brew_id: Mapped[int] = mapped_column(ForeignKey("brews.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    text_only: Mapped[bool] = mapped_column(Boolean, default=False)
    active_guild_id: Mapped[int | None] = mapped_column(BigInteger)

    room: Mapped[Room] = relationship(back_populates="members")


class Outbox(Base):
    """Effects decided with a state change and committed with it, then carried out.

    A prompt is written here in the same transaction as the room's new state, posted, then
    deleted. After a crash the bot carries out what is left; each post carries a fixed ``nonce``
    that Discord uses to refuse a duplicate, so a prompt is neither lost nor posted twice.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # post | guide | recall | cleanup
    nonce: Mapped[str] = mapped_column(String(25), unique=True)
    text: Mapped[str] = mapped_column(Text, default="")
    ping_user_id: Mapped[int | None] = mapped_column(BigInteger)
    buttons: Mapped[str] = mapped_column(String(64), default="")
    step: Mapped[int] = mapped_column(Integer, default=0)
    #: What makes a post stale, so a post whose moment has passed is dropped, never sent late:
    #: the phase it belongs to, the turn (index) it belongs to, and a deadline.
    for_phase: Mapped[str | None] = mapped_column(String(16))
    for_turn: Mapped[int | None] = mapped_column(Integer)
    valid_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _reflection_id() -> str:
    # Random, so row ids say nothing about who answered first.
    return uuid.uuid4().hex


class Reflection(Base):
    """An anonymous reflection: the brew, the answers, the consent and the date. Nothing else."""

    __tablename__ = "reflections"
    # SQLite would otherwise number rows in the order they were written (who answered first).
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 - SQLAlchemy's own form

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_reflection_id)
    brew_id: Mapped[int] = mapped_column(ForeignKey("brews.id", ondelete="CASCADE"), index=True)
    submitted_on: Mapped[date] = mapped_column(Date)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    answers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class ReflectionReceipt(Base):
    """A keyed hash of the user id (per-brew secret) pointing at their reflection, so they can
    replace it while the window is open. All receipts are deleted when the window closes."""

    __tablename__ = "reflection_receipts"

    brew_id: Mapped[int] = mapped_column(
        ForeignKey("brews.id", ondelete="CASCADE"), primary_key=True
    )
    receipt: Mapped[str] = mapped_column(String(64), primary_key=True)
    reflection_id: Mapped[str] = mapped_column(
        ForeignKey("reflections.id", ondelete="CASCADE"), index=True
    )


class PairHistory(Base):
    """Two people shared a room: a keyed hash of the pair (per-server secret), and the brew."""

    __tablename__ = "pair_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    brew_id: Mapped[int] = mapped_column(ForeignKey("brews.id", ondelete="CASCADE"), index=True)
    pair_key: Mapped[str] = mapped_column(String(64))
    met_on: Mapped[date] = mapped_column(Date)


class KeepApart(Base):
    """A facilitator asked that two people never share a room (hashed pair, per server)."""

    __tablename__ = "keep_apart"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    pair_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lease(Base):
    """Work that belongs to no server (retention, the reflection-window sweep) and the process
    doing it until ``expires_at``: with several processes it runs once per period, whichever
    process takes the lease (see :mod:`bot.db.leases`)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class ScheduledSeries(Base):
    """A brew planned ahead with ``/brew schedule``: once, or repeating.

    The brew's settings are fixed when it is scheduled; ``first_start`` is an absolute instant
    and each repeat keeps its wall time in ``timezone`` (see :mod:`bot.core.schedule`).
    ``facilitator_id`` is user-linked and cleared by retention once the series is over.
    """

    __tablename__ = "scheduled_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    title: Mapped[str] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(Text)
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    voice_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    facilitator_id: Mapped[int | None] = mapped_column(BigInteger)
    #: once, weekly, fortnightly or monthly
    repeat: Mapped[str] = mapped_column(String(16))
    occurrences: Mapped[int] = mapped_column(Integer)
    first_start: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    signup_minutes: Mapped[int] = mapped_column(Integer)
    reminder_minutes: Mapped[list[int]] = mapped_column(JSON, default=list)
    auto_start: Mapped[bool] = mapped_column(Boolean, default=True)
    group_size: Mapped[int | None] = mapped_column(Integer)
    length_s: Mapped[int] = mapped_column(Integer)
    turn_s: Mapped[int | None] = mapped_column(Integer)
    think_s: Mapped[int | None] = mapped_column(Integer)
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column()

    occurrences_: Mapped[list[ScheduledOccurrence]] = relationship(
        back_populates="series",
        cascade="all, delete-orphan",
        order_by="ScheduledOccurrence.index",
        passive_deletes=True,
    )


class ScheduledOccurrence(Base):
    """One planned brew of a series, numbered per server for ``/brew cancel_scheduled``.

    planned -> open (its sign-up card is a normal ``/brew open`` card, ``brew_id``) -> started;
    or cancelled, or missed (the bot was down until after it would have ended).
    """

    __tablename__ = "scheduled_occurrences"
    __table_args__ = (
        UniqueConstraint("series_id", "index", name="uq_scheduled_occurrences_series_index"),
        UniqueConstraint("guild_id", "number", name="uq_scheduled_occurrences_guild_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_series.id", ondelete="CASCADE"), index=True
    )
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    number: Mapped[int] = mapped_column(Integer)
    index: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="planned")
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    discord_event_id: Mapped[int | None] = mapped_column(BigInteger)
    #: Why the Discord event could not be made (shown to the facilitator), if it could not.
    event_error: Mapped[str | None] = mapped_column(String(200))
    brew_id: Mapped[int | None] = mapped_column(ForeignKey("brews.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    series: Mapped[ScheduledSeries] = relationship(back_populates="occurrences_")


class ScheduledDone(Base):
    """A moment of an occurrence that has been dealt with (``reminder-15``, ``open``,
    ``start``). The primary key is what makes "nothing happens twice" the database's rule."""

    __tablename__ = "scheduled_done"

    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_occurrences.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduledAnswer(Base):
    """Someone's answer on a sign-up-ahead card. User-linked like a sign-up: deleted by the
    retention job, never joined to reflections."""

    __tablename__ = "scheduled_answers"
    __table_args__ = (
        UniqueConstraint("occurrence_id", "user_id", name="uq_scheduled_answers_occurrence_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_occurrences.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger)
    #: voice, text or cant
    choice: Mapped[str] = mapped_column(String(8))
    answered_at: Mapped[datetime]
    coming_since: Mapped[datetime | None] = mapped_column()


__all__ = [
    "Base",
    "Brew",
    "GuildSettings",
    "KeepApart",
    "Lease",
    "Membership",
    "Outbox",
    "PairHistory",
    "Reflection",
    "ReflectionReceipt",
    "Room",
    "ScheduledAnswer",
    "ScheduledDone",
    "ScheduledOccurrence",
    "ScheduledSeries",
    "Signup",
    "UTCDateTime",
]
