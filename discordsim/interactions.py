"""Interactions: building INTERACTION_CREATE payloads and handling the bot's responses.

The driver creates an :class:`InteractionRecord` per simulated user action (slash command,
autocomplete, button/select click, modal submit), dispatches INTERACTION_CREATE and lets the test
await the bot's answer. The REST side calls :meth:`InteractionManager.callback` for
``POST /interactions/{id}/{token}/callback`` and the ``followup``/``original`` methods for the
``/webhooks/{application_id}/{token}`` routes.

Two clocks are kept per interaction. ``created_at`` is Discord's: the interaction exists, and the
3-second deadline runs from then. ``sent_at`` is when the INTERACTION_CREATE frame was written to
the bot's gateway socket. On Discord the two are microseconds apart for every interaction, however
many people press at once; the simulator, sharing one event loop with everything else in its
process, builds every payload of a burst before its gateway writer runs, so interaction 1 of 100
waits for the other 99 to be built. A response's ``latency`` is from ``created_at`` (what the
deadline checks); ``since_sent`` is from ``sent_at``, the part the bot can be held to.

Timing rules follow Discord: the first response must arrive within 3 seconds (a later one is
recorded as late and answered 404 / 10062 "Unknown interaction", like Discord does once the
interaction has failed); the token then works for 15 minutes of followups and edits (after that
401 / 50027 "Invalid Webhook Token"). When a deferred (type 5) response is still loading, the
first followup resolves the loading message instead of posting a new one, keeping its ephemeral
flag, which is Discord's documented backwards-compatible behaviour.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import errors as E
from . import payloads as pl
from .errors import ApiError, SimulatorError, field_error, invalid_form_body
from .models import FLAG_EPHEMERAL, FLAG_LOADING, Message
from .state import ATTACHMENT_SIZE_LIMIT, SimState, UploadedFile
from .validation import check_autocomplete, check_modal

_log = logging.getLogger(__name__)

# Interaction types
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
APPLICATION_COMMAND_AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Callback types
PONG = 1
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
MODAL = 9

_ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    PING: frozenset({PONG}),
    APPLICATION_COMMAND: frozenset(
        {CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, MODAL}
    ),
    MESSAGE_COMPONENT: frozenset(
        {
            CHANNEL_MESSAGE_WITH_SOURCE,
            DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            DEFERRED_UPDATE_MESSAGE,
            UPDATE_MESSAGE,
            MODAL,
        }
    ),
    APPLICATION_COMMAND_AUTOCOMPLETE: frozenset({APPLICATION_COMMAND_AUTOCOMPLETE_RESULT}),
    MODAL_SUBMIT: frozenset(
        {
            CHANNEL_MESSAGE_WITH_SOURCE,
            DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            DEFERRED_UPDATE_MESSAGE,
            UPDATE_MESSAGE,
        }
    ),
}


@dataclass
class InteractionResponse:
    """The bot's response to an interaction (one callback)."""

    type: int
    data: dict[str, Any] | None
    at: float
    latency: float
    message_id: int | None = None
    late: bool = False
    #: Seconds since the INTERACTION_CREATE frame was written to the bot's socket (None if it
    #: was only replayed on a RESUME).
    since_sent: float | None = None

    @property
    def ephemeral(self) -> bool:
        return bool(int((self.data or {}).get("flags") or 0) & FLAG_EPHEMERAL)

    @property
    def content(self) -> str | None:
        return (self.data or {}).get("content")


class InteractionLate(SimulatorError):
    """The bot answered after the 3-second deadline (Discord showed "interaction failed")."""


@dataclass
class InteractionRecord:
    """One simulated interaction and everything the bot did with it.

    Await :meth:`wait_response` for the first (accepted) response. ``followups`` lists followup
    messages, ``original_message`` is the current state of the response message (for types 4/5,
    or the component's message after 6/7), ``modal`` / ``choices`` hold a modal or autocomplete
    result, ``late`` tells whether the bot missed the 3-second deadline.
    """

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    user_id: int
    guild_id: int | None
    channel_id: int
    created_at: float
    deadline: float
    expires_at: float
    state: SimState = field(repr=False)
    clock: Callable[[], float] = field(repr=False)
    source_message_id: int | None = None
    #: When the INTERACTION_CREATE frame was written to the bot's gateway socket (first session).
    sent_at: float | None = None
    response: InteractionResponse | None = None
    late_response: InteractionResponse | None = None
    attempts: list[InteractionResponse] = field(default_factory=list)
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    _first: asyncio.Future[InteractionResponse] | None = field(default=None, repr=False)

    def mark_sent(self) -> None:
        """Called by the gateway once the frame carrying this interaction is written."""
        if self.sent_at is None:
            self.sent_at = self.clock()

    def response_future(self) -> asyncio.Future[InteractionResponse]:
        """Done with the first response (late ones included) the moment the callback arrives;
        its done callbacks run right after, before the bot hears back."""
        return self._future()

    def _future(self) -> asyncio.Future[InteractionResponse]:
        if self._first is None:
            self._first = asyncio.get_running_loop().create_future()
        return self._first

    async def wait_response(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - mirrors discord.py's wait_for
        *,
        allow_late: bool = False,
    ) -> InteractionResponse:
        """The first response; raises :class:`InteractionLate` if it came too late."""
        fut = self._future()
        if self.response is not None:
            return self.response
        if self.late_response is not None and not fut.done():
            fut.set_result(self.late_response)
        try:
            resp = await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"bot did not respond to interaction {self.id} ({self.describe()}) "
                f"within {timeout}s; {self.attempt_summary()}"
            ) from None
        if resp.late and not allow_late:
            raise InteractionLate(
                f"bot responded to interaction {self.id} ({self.describe()}) after "
                f"{resp.latency:.2f}s (limit {self.deadline - self.created_at:.0f}s)"
            )
        return resp

    def attempt_summary(self) -> str:
        if not self.attempts:
            return "no callback was attempted (is the handler registered and the bot connected?)"
        return "callbacks seen: " + ", ".join(f"type {a.type}" for a in self.attempts)

    def describe(self) -> str:
        data = self.payload.get("data") or {}
        return str(data.get("name") or data.get("custom_id") or self.type)

    def _resolve(self, resp: InteractionResponse) -> None:
        fut = self._future()
        if not fut.done():
            fut.set_result(resp)

    @property
    def late(self) -> bool:
        return self.late_response is not None

    @property
    def failed(self) -> bool:
        """True when the user saw "This interaction failed" (no response within 3 seconds)."""
        if self.response is not None:
            return False
        return self.late_response is not None or self.clock() > self.deadline

    @property
    def latency(self) -> float | None:
        resp = self.response or self.late_response
        return resp.latency if resp else None

    @property
    def original_message(self) -> Message | None:
        if self.original_message_id is None:
            return None
        msg = self.state.messages.get(self.original_message_id)
        return None if msg is None or msg.deleted else msg

    @property
    def message(self) -> Message | None:
        """Alias of :attr:`original_message`."""
        return self.original_message

    @property
    def followups(self) -> list[Message]:
        return [self.state.messages[m] for m in self.followup_ids if m in self.state.messages]

    @property
    def modal(self) -> dict[str, Any] | None:
        if self.response is not None and self.response.type == MODAL:
            return self.response.data
        return None

    @property
    def choices(self) -> list[dict[str, Any]] | None:
        if (
            self.response is not None
            and self.response.type == APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
        ):
            return list((self.response.data or {}).get("choices") or [])
        return None


class InteractionManager:
    """Stores interactions by id/token and implements the callback and webhook routes."""

    def __init__(
        self,
        state: SimState,
        *,
        clock: Callable[[], float],
        deadline: float = 3.0,
        token_lifetime: float = 15 * 60.0,
    ) -> None:
        self.state = state
        self.clock = clock
        self.deadline = deadline
        self.token_lifetime = token_lifetime
        self.records: list[InteractionRecord] = []
        self.by_id: dict[int, InteractionRecord] = {}
        self.by_token: dict[str, InteractionRecord] = {}
        self.late: list[InteractionRecord] = []

    # ------------------------------------------------------------------ creation
    def new(
        self,
        itype: int,
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        data: dict[str, Any] | None,
        message: Message | None = None,
    ) -> InteractionRecord:
        """Build the INTERACTION_CREATE payload and register the record (not dispatched yet)."""
        state = self.state
        iid = state.ids.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(64)
        channel = state.channel(channel_id)
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(state.application_id),
            "type": itype,
            "token": token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "channel_id": str(channel_id),
        }
        if data is not None:
            payload["data"] = data
        if guild_id is not None:
            guild = state.guild(guild_id)
            member = state.member(guild_id, user_id)
            perms = state.permissions(guild_id, user_id, channel_id)
            payload.update(
                {
                    "guild_id": str(guild_id),
                    "guild": {
                        "id": str(guild_id),
                        "locale": guild.preferred_locale,
                        "features": guild.features,
                    },
                    "guild_locale": guild.preferred_locale,
                    "member": pl.member_payload(member, permissions=perms),
                    "app_permissions": str(state.bot_permissions(guild, channel)),
                    "channel": pl.channel_payload(channel, permissions=perms),
                    "authorizing_integration_owners": {"0": str(guild_id)},
                    "context": 0,
                }
            )
        else:
            user = state.user(user_id)
            payload.update(
                {
                    "user": pl.user_payload(user),
                    "channel": state.dm_payload(channel),
                    "app_permissions": "0",
                    "authorizing_integration_owners": {"0": "0"},
                    "context": 1,
                }
            )
        if message is not None:
            payload["message"] = state.message_payload(message)
        now = self.clock()
        rec = InteractionRecord(
            id=iid,
            token=token,
            type=itype,
            payload=payload,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            created_at=now,
            deadline=now + self.deadline,
            expires_at=now + self.token_lifetime,
            state=state,
            clock=self.clock,
            source_message_id=message.id if message is not None else None,
        )
        self.records.append(rec)
        self.by_id[iid] = rec
        self.by_token[token] = rec
        return rec

    def metadata(self, rec: InteractionRecord) -> dict[str, Any]:
        """``interaction_metadata`` for messages created by this interaction."""
        user = self.state.user(rec.user_id)
        data = rec.payload.get("data") or {}
        meta: dict[str, Any] = {
            "id": str(rec.id),
            "type": rec.type,
            "user": pl.user_payload(user),
            "authorizing_integration_owners": rec.payload.get("authorizing_integration_owners", {}),
        }
        if rec.type == APPLICATION_COMMAND:
            meta["name"] = data.get("name")
            meta["command_type"] = data.get("type", 1)
        if rec.source_message_id is not None:
            meta["interacted_message_id"] = str(rec.source_message_id)
        if rec.original_message_id is not None:
            meta["original_response_message_id"] = str(rec.original_message_id)
        return meta

    # ------------------------------------------------------------------ callback
    def callback(
        self,
        interaction_id: int,
        token: str,
        body: Mapping[str, Any],
        files: Sequence[UploadedFile],
        *,
        with_response: bool,
    ) -> dict[str, Any] | None:
        """POST /interactions/{id}/{token}/callback."""
        rec = self.by_id.get(interaction_id)
        if rec is None or rec.token != token:
            raise E.not_found(E.UNKNOWN_INTERACTION, "interaction")
        now = self.clock()
        try:
            rtype = int(body.get("type", 0))
        except (TypeError, ValueError):
            rtype = 0
        data = body.get("data")
        data = dict(data) if isinstance(data, Mapping) else None
        resp = InteractionResponse(
            type=rtype,
            data=data,
            at=now,
            latency=now - rec.created_at,
            since_sent=None if rec.sent_at is None else now - rec.sent_at,
        )
        if rec.response is not None or rec.late_response is not None:
            raise ApiError(
                400, E.ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged."
            )
        if now > rec.deadline:
            resp.late = True
            rec.late_response = resp
            rec.attempts.append(resp)
            self.late.append(rec)
            rec._resolve(resp)
            self.state.changed()
            _log.warning(
                "late interaction response: %s (%s) after %.2fs",
                rec.id,
                rec.describe(),
                resp.latency,
            )
            raise E.not_found(E.UNKNOWN_INTERACTION, "interaction")
        allowed = _ALLOWED_CALLBACKS.get(rec.type, frozenset())
        if rtype not in allowed:
            if rtype == MODAL and rec.type == MODAL_SUBMIT:
                msg = "Cannot respond to a modal submit with another modal"
            else:
                msg = f"Response type {rtype} is not valid for interaction type {rec.type}"
            raise invalid_form_body({"type": field_error("INTERACTION_RESPONSE_TYPE_INVALID", msg)})
        if rtype == UPDATE_MESSAGE or rtype == DEFERRED_UPDATE_MESSAGE:
            if rec.source_message_id is None:
                raise invalid_form_body(
                    {
                        "type": field_error(
                            "INTERACTION_RESPONSE_TYPE_INVALID", "No message to update"
                        )
                    }
                )
        message: Message | None = None
        payload_data = data or {}
        if rtype == CHANNEL_MESSAGE_WITH_SOURCE:
            message = self._create_message(rec, payload_data, files, prefix=True)
        elif rtype == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            flags = int(payload_data.get("flags") or 0) & FLAG_EPHEMERAL
            message = self.state.create_message(
                rec.channel_id,
                {"flags": flags},
                author_id=self.state.bot.id,
                webhook_id=self.state.application_id,
                interaction_id=rec.id,
                interaction_metadata=self.metadata(rec),
                visible_to=rec.user_id,
                message_type=self._message_type(rec),
                extra_flags=FLAG_LOADING,
                allow_ephemeral=True,
                validate=False,
                check_permissions=False,
            )
        elif rtype == UPDATE_MESSAGE:
            assert rec.source_message_id is not None
            source = self.state.messages[rec.source_message_id]
            try:
                message = self.state.edit_message(source, payload_data, files, as_bot=False)
            except ApiError as exc:
                raise _prefix_errors(exc, "data") from None
        elif rtype == DEFERRED_UPDATE_MESSAGE:
            assert rec.source_message_id is not None
            message = self.state.messages[rec.source_message_id]
        elif rtype == MODAL:
            check_modal(data, ["data"])
        elif rtype == APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
            check_autocomplete(data, ["data"])
        if message is not None:
            rec.original_message_id = message.id
            resp.message_id = message.id
        rec.response = resp
        rec.attempts.append(resp)
        rec._resolve(resp)
        self.state.changed()
        _log.debug("interaction %s answered with type %s in %.3fs", rec.id, rtype, resp.latency)
        if not with_response:
            return None
        out: dict[str, Any] = {
            "interaction": {
                "id": str(rec.id),
                "type": rec.type,
                "activity_instance_id": None,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": bool(message and message.loading),
                "response_message_ephemeral": bool(message and message.ephemeral),
            }
        }
        resource: dict[str, Any] = {"type": rtype}
        if message is not None and rtype in (
            CHANNEL_MESSAGE_WITH_SOURCE,
            DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            UPDATE_MESSAGE,
        ):
            resource["message"] = self.state.message_payload(message)
        out["resource"] = resource
        return out

    def _message_type(self, rec: InteractionRecord) -> int:
        return 20 if rec.type == APPLICATION_COMMAND else 0

    def _create_message(
        self,
        rec: InteractionRecord,
        data: Mapping[str, Any],
        files: Sequence[UploadedFile],
        *,
        prefix: bool,
    ) -> Message:
        """A message sent through the interaction's webhook (a response or a followup)."""
        try:
            return self.state.create_message(
                rec.channel_id,
                data,
                files,
                author_id=self.state.bot.id,
                webhook_id=self.state.application_id,
                interaction_id=rec.id,
                interaction_metadata=self.metadata(rec),
                visible_to=rec.user_id,
                message_type=self._message_type(rec),
                allow_ephemeral=True,
                check_permissions=False,
            )
        except ApiError as exc:
            # Callback bodies nest the message under "data"; followup bodies do not.
            raise _prefix_errors(exc, "data") if prefix else exc from None

    # ------------------------------------------------------------------ webhooks (followups)
    def _by_token(self, application_id: int, token: str) -> InteractionRecord:
        if application_id != self.state.application_id:
            raise E.not_found(E.UNKNOWN_WEBHOOK, "Webhook")
        rec = self.by_token.get(token)
        if rec is None:
            raise E.not_found(E.UNKNOWN_WEBHOOK, "Webhook")
        if self.clock() > rec.expires_at:
            raise ApiError(401, E.INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        if rec.response is None:
            # Not acknowledged in time (or at all): the token never became usable.
            raise E.not_found(E.UNKNOWN_WEBHOOK, "Webhook")
        return rec

    def followup(
        self,
        application_id: int,
        token: str,
        body: Mapping[str, Any],
        files: Sequence[UploadedFile],
    ) -> Message:
        """POST /webhooks/{application_id}/{token}."""
        rec = self._by_token(application_id, token)
        original = rec.original_message
        if (
            rec.response is not None
            and rec.response.type == DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
            and original is not None
            and original.loading
        ):
            # The first followup after a deferred response resolves the loading message.
            clean = {k: v for k, v in body.items() if k != "flags"}
            msg = self.state.edit_message(
                original, clean, files, as_bot=False, resolve_loading=True
            )
            return msg
        msg = self._create_message(rec, body, files, prefix=False)
        rec.followup_ids.append(msg.id)
        self.state.changed()
        return msg

    def _target(self, rec: InteractionRecord, message_ref: str) -> Message:
        if message_ref == "@original":
            msg = rec.original_message
            if msg is None:
                raise E.not_found(E.UNKNOWN_MESSAGE, "Message")
            return msg
        try:
            mid = int(message_ref)
        except ValueError:
            raise E.not_found(E.UNKNOWN_MESSAGE, "Message") from None
        if mid != rec.original_message_id and mid not in rec.followup_ids:
            raise E.not_found(E.UNKNOWN_MESSAGE, "Message")
        msg = self.state.messages.get(mid)
        if msg is None or msg.deleted:
            raise E.not_found(E.UNKNOWN_MESSAGE, "Message")
        return msg

    def get_message(self, application_id: int, token: str, message_ref: str) -> Message:
        rec = self._by_token(application_id, token)
        return self._target(rec, message_ref)

    def edit_message(
        self,
        application_id: int,
        token: str,
        message_ref: str,
        body: Mapping[str, Any],
        files: Sequence[UploadedFile],
    ) -> Message:
        rec = self._by_token(application_id, token)
        msg = self._target(rec, message_ref)
        return self.state.edit_message(msg, body, files, as_bot=False, resolve_loading=msg.loading)

    def delete_message(self, application_id: int, token: str, message_ref: str) -> None:
        rec = self._by_token(application_id, token)
        msg = self._target(rec, message_ref)
        self.state.delete_message(msg, as_bot=False)


def _prefix_errors(exc: ApiError, key: str) -> ApiError:
    if exc.errors is None:
        return exc
    return ApiError(exc.status, exc.code, exc.message, {key: exc.errors})
