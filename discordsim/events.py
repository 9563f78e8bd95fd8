"""Guild scheduled events: the model, Discord's rules for them, and their gateway events.

Follows https://discord.com/developers/docs/resources/guild-scheduled-event (checked against the
discord-api-docs repository, December 2026):

* Create needs ``privacy_level`` 2 (GUILD_ONLY; discord.py 2.7 leaves it out unless passed), a
  ``name`` of 1-100 characters, an optional ``description`` of up to 1000, an
  ``entity_type`` of 1 (stage), 2 (voice) or 3 (external) and a ``scheduled_start_time`` in the
  future. Stage and voice events need a ``channel_id`` of that kind of channel; external events
  need ``entity_metadata.location`` (1-100) and a ``scheduled_end_time``; an end, when given,
  must come after the start. At most 100 events may be SCHEDULED or ACTIVE per guild (30038).
* Permissions: creating needs CREATE_EVENTS (bots since 23 February 2026; MANAGE_EVENTS alone is
  no longer enough); changing or deleting an event needs CREATE_EVENTS or MANAGE_EVENTS when the
  bot created it and MANAGE_EVENTS otherwise. For stage and voice events these are computed in the
  event's channel and VIEW_CHANNEL and CONNECT are needed there too (stage events also need
  MANAGE_CHANNELS, MUTE_MEMBERS and MOVE_MEMBERS). Reading an event in a channel the bot cannot
  view answers 404 / 10070 and the list leaves it out.
* Status moves only SCHEDULED (1) -> ACTIVE (2) -> COMPLETED (3), or SCHEDULED -> CANCELED (4);
  a finished event cannot be changed at all (180000), any other move is 400 / 50035.
* GUILD_SCHEDULED_EVENT_CREATE / UPDATE / DELETE and USER_ADD / USER_REMOVE are sent to
  sessions with the GUILD_SCHEDULED_EVENTS intent (1 << 16, part of discord.py's defaults).
  discord.py drops USER_ADD for users it has not cached (without the members intent, most of
  them), which is why a bot should read ``GET .../users`` (``ScheduledEvent.users()``).

The field-error codes for a start in the past and an end before the start are the ones Discord
answers with in practice (``GUILD_SCHEDULED_EVENT_SCHEDULED_START_TIME_IN_PAST`` and
``..._END_TIME_BEFORE_START_TIME``); the docs do not list them.

Documented simplifications: no cover images (``image`` is accepted and its hash stored as given),
no recurrence rules (refused), no automatic status changes (Discord ends an ACTIVE voice event
minutes after its channel empties and cancels a SCHEDULED one hours after its start); tests move
the status themselves with :meth:`ScheduledEventOps.set_scheduled_event_status`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import errors as E
from . import payloads as pl
from .errors import ApiError, field_error
from .guilds import GuildOps
from .models import GUILD_STAGE_VOICE, GUILD_VOICE, Guild
from .permissions import P, has
from .validation import Errors, bad_len, max_len, required

INTENT_GUILD_SCHEDULED_EVENTS = 1 << 16

GUILD_ONLY = 2
STAGE_INSTANCE, VOICE, EXTERNAL = 1, 2, 3
SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4
MAX_OPEN_EVENTS = 100

UNKNOWN_SCHEDULED_EVENT = 10070
MAX_SCHEDULED_EVENTS = 30038
EVENT_FINISHED = 180000

_NEXT_STATUS = {SCHEDULED: {ACTIVE, CANCELED}, ACTIVE: {COMPLETED}}
_CHANNEL_TYPE = {STAGE_INSTANCE: GUILD_STAGE_VOICE, VOICE: GUILD_VOICE}


@dataclass
class ScheduledEvent:
    """A guild scheduled event as the simulator stores it."""

    id: int
    guild_id: int
    name: str
    scheduled_start_time: datetime.datetime
    entity_type: int
    privacy_level: int = GUILD_ONLY
    status: int = SCHEDULED
    channel_id: int | None = None
    creator_id: int | None = None
    description: str | None = None
    scheduled_end_time: datetime.datetime | None = None
    location: str | None = None
    image: str | None = None
    #: User id -> when they pressed "Interested", in the order they did.
    subscribers: dict[int, datetime.datetime] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.status in (SCHEDULED, ACTIVE)


def _bad_enum(value: Any) -> dict[str, Any]:
    return field_error("ENUM_TYPE_COERCE", f'Value "{value}" is not a valid enum value.')


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(raw: Any, name: str, errs: Errors) -> datetime.datetime | None:
    if not isinstance(raw, str):
        errs.add([name], field_error("DATE_TIME_TYPE_COERCE", "Could not parse date time."))
        return None
    try:
        value = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        errs.add([name], field_error("DATE_TIME_TYPE_COERCE", "Could not parse date time."))
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


class ScheduledEventOps(GuildOps):
    """The scheduled-event part of :class:`~discordsim.state.SimState`."""

    def wall_now(self) -> datetime.datetime:
        """The wall clock the "start in the future" rule uses (real UTC unless set)."""
        clock = self.__dict__.get("_wall_clock")
        return clock() if clock is not None else datetime.datetime.now(datetime.UTC)

    def set_wall_clock(self, clock: Callable[[], datetime.datetime] | None) -> None:
        """Use ``clock`` for :meth:`wall_now` (tests whose bot runs on an injected clock)."""
        self.__dict__["_wall_clock"] = clock

    def guild_create_payload(self, guild: Guild, intents: int) -> dict[str, Any]:
        """GUILD_CREATE carries the guild's scheduled events, as on Discord."""
        out = super().guild_create_payload(guild, intents)
        out["guild_scheduled_events"] = [
            self.scheduled_event_payload(e)
            for e in self.guild_scheduled_events(guild.id)
            if self._can_view(guild, e, self.bot.id)
        ]
        return out

    @property
    def scheduled_events(self) -> dict[int, ScheduledEvent]:
        store = self.__dict__.get("_scheduled_events")
        if store is None:
            store = self.__dict__["_scheduled_events"] = {}
        return store

    # ------------------------------------------------------------------ reading
    def scheduled_event(self, guild_id: int, event_id: int) -> ScheduledEvent:
        event = self.scheduled_events.get(event_id)
        if event is None or event.guild_id != guild_id:
            raise E.not_found(UNKNOWN_SCHEDULED_EVENT, "Guild Scheduled Event")
        return event

    def guild_scheduled_events(self, guild_id: int) -> list[ScheduledEvent]:
        return [e for e in self.scheduled_events.values() if e.guild_id == guild_id]

    def _can_view(self, guild: Guild, event: ScheduledEvent, user_id: int) -> bool:
        if event.channel_id is None:
            return True
        channel = self.channels.get(event.channel_id)
        if channel is None:
            return False
        return has(self.permissions(guild.id, user_id, channel.id), P.VIEW_CHANNEL)

    def visible_scheduled_events(self, guild_id: int, user_id: int) -> list[ScheduledEvent]:
        guild = self.guild(guild_id)
        return [
            e for e in self.guild_scheduled_events(guild_id) if self._can_view(guild, e, user_id)
        ]

    def visible_scheduled_event(self, guild_id: int, event_id: int, user_id: int) -> ScheduledEvent:
        guild = self.guild(guild_id)
        event = self.scheduled_event(guild_id, event_id)
        if not self._can_view(guild, event, user_id):
            raise E.not_found(UNKNOWN_SCHEDULED_EVENT, "Guild Scheduled Event")
        return event

    def scheduled_event_payload(
        self, event: ScheduledEvent, *, with_user_count: bool = False
    ) -> dict[str, Any]:
        creator = self.users.get(event.creator_id) if event.creator_id else None
        out: dict[str, Any] = {
            "id": str(event.id),
            "guild_id": str(event.guild_id),
            "channel_id": str(event.channel_id) if event.channel_id else None,
            "creator_id": str(event.creator_id) if event.creator_id else None,
            "name": event.name,
            "description": event.description,
            "scheduled_start_time": _iso(event.scheduled_start_time),
            "scheduled_end_time": _iso(event.scheduled_end_time),
            "privacy_level": event.privacy_level,
            "status": event.status,
            "entity_type": event.entity_type,
            "entity_id": None,
            "entity_metadata": {"location": event.location} if event.location else None,
            "image": event.image,
            "recurrence_rule": None,
        }
        if creator is not None:
            out["creator"] = pl.user_payload(creator)
        if with_user_count:
            out["user_count"] = len(event.subscribers)
        return out

    def scheduled_event_users(
        self,
        event: ScheduledEvent,
        *,
        limit: int = 100,
        before: int | None = None,
        after: int | None = None,
        with_member: bool = False,
    ) -> list[dict[str, Any]]:
        """Subscribers in ascending user id; ``before`` wins over ``after`` (as documented)."""
        limit = max(1, min(100, limit))
        ids = sorted(event.subscribers)
        if before is not None:
            ids = [u for u in ids if u < before][-limit:]
        else:
            ids = [u for u in ids if after is None or u > after][:limit]
        guild = self.guild(event.guild_id)
        out = []
        for uid in ids:
            user = self.users.get(uid)
            if user is None:
                continue
            item: dict[str, Any] = {
                "guild_scheduled_event_id": str(event.id),
                "user": pl.user_payload(user),
            }
            member = guild.members.get(uid)
            if with_member and member is not None:
                item["member"] = pl.member_payload(member, with_user=False)
            out.append(item)
        return out

    # ------------------------------------------------------------------ permissions
    def _require_event_perms(
        self,
        guild: Guild,
        actor_id: int,
        *,
        entity_type: int,
        channel_id: int | None,
        creating: bool,
        creator_id: int | None = None,
    ) -> None:
        """403 unless ``actor_id`` may create (or change) an event of this kind there."""
        if actor_id not in guild.members:
            raise E.missing_access()
        if entity_type == EXTERNAL or channel_id is None:
            perms = self.permissions(guild.id, actor_id)
        else:
            perms = self.permissions(guild.id, actor_id, channel_id)
            if not has(perms, P.VIEW_CHANNEL):
                raise E.missing_access()
            if not has(perms, P.CONNECT):
                raise E.missing_permissions()
            if entity_type == STAGE_INSTANCE and not has(
                perms, P.MANAGE_CHANNELS, P.MUTE_MEMBERS, P.MOVE_MEMBERS
            ):
                raise E.missing_permissions()
        if creating:
            allowed = has(perms, P.CREATE_EVENTS)
        elif creator_id == actor_id:
            allowed = has(perms, P.CREATE_EVENTS) or has(perms, P.MANAGE_EVENTS)
        else:
            allowed = has(perms, P.MANAGE_EVENTS)
        if not allowed:
            raise E.missing_permissions()

    # ------------------------------------------------------------------ validation
    def _check_fields(
        self,
        guild: Guild,
        body: Mapping[str, Any],
        errs: Errors,
        *,
        creating: bool,
        current: ScheduledEvent | None = None,
    ) -> dict[str, Any]:
        """Validated field values (only those present in ``body``)."""
        out: dict[str, Any] = {}
        if creating:
            for key in ("name", "privacy_level", "scheduled_start_time", "entity_type"):
                if body.get(key) is None:
                    errs.add([key], required())
        if "name" in body and body["name"] is not None:
            name = body["name"]
            if not isinstance(name, str) or not 1 <= len(name) <= 100:
                errs.add(["name"], bad_len(1, 100))
            else:
                out["name"] = name
        if "description" in body:
            desc = body["description"]
            if desc is not None and (not isinstance(desc, str) or len(desc) > 1000):
                errs.add(["description"], max_len(1000))
            else:
                out["description"] = desc or None
        if "privacy_level" in body and body["privacy_level"] is not None:
            if body["privacy_level"] != GUILD_ONLY:
                errs.add(
                    ["privacy_level"],
                    _bad_enum(body["privacy_level"]),
                )
            else:
                out["privacy_level"] = GUILD_ONLY
        if "entity_type" in body and body["entity_type"] is not None:
            if body["entity_type"] not in (STAGE_INSTANCE, VOICE, EXTERNAL):
                errs.add(
                    ["entity_type"],
                    _bad_enum(body["entity_type"]),
                )
            else:
                out["entity_type"] = body["entity_type"]
        if "recurrence_rule" in body and body["recurrence_rule"] is not None:
            errs.add(
                ["recurrence_rule"],
                field_error("UNSUPPORTED", "The simulator does not support recurrence rules."),
            )
        for key in ("scheduled_start_time", "scheduled_end_time"):
            if key in body and body[key] is not None:
                value = _parse_time(body[key], key, errs)
                if value is not None:
                    out[key] = value
            elif key in body:
                out[key] = None
        if "image" in body:
            out["image"] = body["image"]
        if "channel_id" in body:
            raw = body["channel_id"]
            try:
                out["channel_id"] = int(raw) if raw is not None else None
            except (TypeError, ValueError):
                errs.add(
                    ["channel_id"], field_error("NUMBER_TYPE_COERCE", "Value is not snowflake.")
                )
        if "entity_metadata" in body:
            meta = body["entity_metadata"]
            out["location"] = meta.get("location") if isinstance(meta, Mapping) else None

        # Cross-field rules, on the event as it would be after the change.
        def final(key: str, default: Any) -> Any:
            if key in out:
                return out[key]
            return getattr(current, key, default) if current is not None else default

        entity_type = final("entity_type", None)
        channel_id = final("channel_id", None)
        start = final("scheduled_start_time", None)
        end = final("scheduled_end_time", None)
        if entity_type in (STAGE_INSTANCE, VOICE):
            out.pop("location", None)  # silently discarded for non-external events
            if channel_id is None:
                errs.add(["channel_id"], required())
            else:
                channel = self.channels.get(channel_id)
                if channel is None or channel.guild_id != guild.id:
                    errs.add(["channel_id"], field_error("CHANNEL_INVALID", "Unknown channel"))
                elif channel.type != _CHANNEL_TYPE[entity_type]:
                    errs.add(
                        ["channel_id"],
                        field_error("CHANNEL_INVALID_TYPE", "Channel is not the right type."),
                    )
        elif entity_type == EXTERNAL:
            if channel_id is not None:
                errs.add(["channel_id"], field_error("BASE_TYPE_NULL", "Must be null."))
            location = final("location", None)
            if not isinstance(location, str) or not 1 <= len(location) <= 100:
                errs.add(["entity_metadata", "location"], bad_len(1, 100))
            if end is None:
                errs.add(["scheduled_end_time"], required())
        now = self.wall_now()
        if "scheduled_start_time" in out and start is not None and start <= now:
            errs.add(
                ["scheduled_start_time"],
                field_error(
                    "GUILD_SCHEDULED_EVENT_SCHEDULED_START_TIME_IN_PAST",
                    "Cannot schedule event in the past.",
                ),
            )
        if start is not None and end is not None and end <= start:
            errs.add(
                ["scheduled_end_time"],
                field_error(
                    "GUILD_SCHEDULED_EVENT_END_TIME_BEFORE_START_TIME",
                    "Cannot schedule event to end before starting.",
                ),
            )
        return out

    # ------------------------------------------------------------------ changes
    def _event_dispatch(self, name: str, event: ScheduledEvent) -> None:
        self.dispatch(
            name,
            self.scheduled_event_payload(event),
            intent=INTENT_GUILD_SCHEDULED_EVENTS,
            guild_id=event.guild_id,
        )

    def create_scheduled_event(
        self,
        guild_id: int,
        body: Mapping[str, Any],
        *,
        actor_id: int,
        check_permissions: bool = True,
    ) -> ScheduledEvent:
        """POST /guilds/{guild_id}/scheduled-events as ``actor_id`` (the bot, or a person)."""
        guild = self.guild(guild_id)
        errs = Errors()
        values = self._check_fields(guild, body, errs, creating=True)
        if check_permissions and "entity_type" in values:
            self._require_event_perms(
                guild,
                actor_id,
                entity_type=values["entity_type"],
                channel_id=values.get("channel_id"),
                creating=True,
            )
        errs.raise_if_any()
        if sum(1 for e in self.guild_scheduled_events(guild_id) if e.open) >= MAX_OPEN_EVENTS:
            raise ApiError(
                400,
                MAX_SCHEDULED_EVENTS,
                "Maximum number of uncompleted guild scheduled events reached (100)",
            )
        event = ScheduledEvent(
            id=self.ids.next(),
            guild_id=guild_id,
            name=values["name"],
            scheduled_start_time=values["scheduled_start_time"],
            entity_type=values["entity_type"],
            privacy_level=values["privacy_level"],
            channel_id=values.get("channel_id") if values["entity_type"] != EXTERNAL else None,
            creator_id=actor_id,
            description=values.get("description"),
            scheduled_end_time=values.get("scheduled_end_time"),
            location=values.get("location") if values["entity_type"] == EXTERNAL else None,
            image=values.get("image"),
        )
        self.scheduled_events[event.id] = event
        self._event_dispatch("GUILD_SCHEDULED_EVENT_CREATE", event)
        return event

    def edit_scheduled_event(
        self,
        guild_id: int,
        event_id: int,
        body: Mapping[str, Any],
        *,
        actor_id: int,
        check_permissions: bool = True,
    ) -> ScheduledEvent:
        """PATCH /guilds/{guild_id}/scheduled-events/{event_id} (status moves included)."""
        guild = self.guild(guild_id)
        if check_permissions:
            event = self.visible_scheduled_event(guild_id, event_id, actor_id)
        else:
            event = self.scheduled_event(guild_id, event_id)
        if check_permissions:
            self._require_event_perms(
                guild,
                actor_id,
                entity_type=event.entity_type,
                channel_id=event.channel_id,
                creating=False,
                creator_id=event.creator_id,
            )
        if not event.open:
            raise ApiError(400, EVENT_FINISHED, "Cannot update a finished event")
        errs = Errors()
        values = self._check_fields(guild, body, errs, creating=False, current=event)
        if "status" in body:
            status = body["status"]
            if status != event.status and status not in _NEXT_STATUS.get(event.status, set()):
                errs.add(
                    ["status"],
                    field_error(
                        "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION",
                        f"Cannot change status from {event.status} to {status}.",
                    ),
                )
            else:
                values["status"] = status
        moved = "channel_id" in values and values["channel_id"] != event.channel_id
        if check_permissions and moved:
            self._require_event_perms(
                guild,
                actor_id,
                entity_type=values.get("entity_type", event.entity_type),
                channel_id=values["channel_id"],
                creating=False,
                creator_id=event.creator_id,
            )
        errs.raise_if_any()
        for key, value in values.items():
            setattr(event, key, value)
        if event.entity_type == EXTERNAL:
            event.channel_id = None
        else:
            event.location = None
        self._event_dispatch("GUILD_SCHEDULED_EVENT_UPDATE", event)
        return event

    def delete_scheduled_event(
        self, guild_id: int, event_id: int, *, actor_id: int, check_permissions: bool = True
    ) -> None:
        guild = self.guild(guild_id)
        if check_permissions:
            event = self.visible_scheduled_event(guild_id, event_id, actor_id)
            self._require_event_perms(
                guild,
                actor_id,
                entity_type=event.entity_type,
                channel_id=event.channel_id,
                creating=False,
                creator_id=event.creator_id,
            )
        else:
            event = self.scheduled_event(guild_id, event_id)
        del self.scheduled_events[event.id]
        self._event_dispatch("GUILD_SCHEDULED_EVENT_DELETE", event)

    def set_scheduled_event_status(
        self, guild_id: int, event_id: int, status: int
    ) -> ScheduledEvent:
        """Discord's own status automation (or a person in the client), with the same rules."""
        return self.edit_scheduled_event(
            guild_id, event_id, {"status": status}, actor_id=0, check_permissions=False
        )

    def _subscription(self, name: str, event: ScheduledEvent, user_id: int) -> None:
        self.dispatch(
            name,
            {
                "guild_scheduled_event_id": str(event.id),
                "user_id": str(user_id),
                "guild_id": str(event.guild_id),
            },
            intent=INTENT_GUILD_SCHEDULED_EVENTS,
            guild_id=event.guild_id,
        )

    def subscribe(self, guild_id: int, event_id: int, user_id: int) -> bool:
        """The member presses "Interested"; False if they already had (no event is sent)."""
        guild = self.guild(guild_id)
        event = self.scheduled_event(guild_id, event_id)
        self.member(guild_id, user_id)
        if not self._can_view(guild, event, user_id):
            raise E.missing_access()
        if not event.open:
            raise ApiError(400, EVENT_FINISHED, "Cannot update a finished event")
        if user_id in event.subscribers:
            return False
        event.subscribers[user_id] = self.wall_now()
        self._subscription("GUILD_SCHEDULED_EVENT_USER_ADD", event, user_id)
        return True

    def unsubscribe(self, guild_id: int, event_id: int, user_id: int) -> bool:
        event = self.scheduled_event(guild_id, event_id)
        if event.subscribers.pop(user_id, None) is None:
            return False
        self._subscription("GUILD_SCHEDULED_EVENT_USER_REMOVE", event, user_id)
        return True
