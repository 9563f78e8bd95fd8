"""The simulated Discord gateway (websocket, API v10, JSON, zlib-stream).

discord.py connects with ``?v=10&encoding=json&compress=zlib-stream``. The gateway then speaks
the documented protocol: HELLO with ``heartbeat_interval``; HEARTBEAT answered by HEARTBEAT_ACK;
IDENTIFY answered by READY (with ``session_id``, ``resume_gateway_url`` and unavailable guild
stubs) followed by one GUILD_CREATE per guild; RESUME answered by a replay of the events the
session missed and RESUMED (or INVALID_SESSION when the session is gone). With zlib-stream every
payload is compressed by one per-connection zlib stream and flushed with Z_SYNC_FLUSH, so each
websocket message ends in ``00 00 ff ff`` as discord.py expects. ``zstd-stream`` is supported when
a zstd module is importable (discord.py picks it when one is installed).

A *session* outlives its websocket: events dispatched while a session is disconnected are kept
(with their sequence numbers) for ``resume_window`` seconds so that a RESUME can replay them. A
client that closes with 1000/1001 (``bot.close()``) ends its session, as on Discord. Several
sessions may exist at once (a restarted bot, two processes, shards); each gets the events for its
shard and intents.

Events dispatched (intent in brackets; the simulator drops events the session did not ask for):
READY, RESUMED, GUILD_MEMBERS_CHUNK, INTERACTION_CREATE (always); GUILD_CREATE, GUILD_UPDATE,
GUILD_DELETE, GUILD_ROLE_CREATE/UPDATE, CHANNEL_CREATE/UPDATE/DELETE, CHANNEL_PINS_UPDATE
[GUILDS]; GUILD_MEMBER_ADD/UPDATE/REMOVE [GUILD_MEMBERS; the bot's own GUILD_MEMBER_UPDATE is
always sent]; VOICE_STATE_UPDATE [GUILD_VOICE_STATES]; MESSAGE_CREATE/UPDATE/DELETE,
MESSAGE_DELETE_BULK [GUILD_MESSAGES or DIRECT_MESSAGES; content, embeds, attachments and
components are blanked without MESSAGE_CONTENT unless the bot wrote or is mentioned in the
message, or it is a DM; messages in channels the bot cannot view are not sent]. Events of guilds
the bot is not in are not sent. Opcodes handled from the client: HEARTBEAT, IDENTIFY, PRESENCE
UPDATE (stored), VOICE STATE UPDATE (updates the bot's voice state), RESUME, REQUEST GUILD
MEMBERS (one chunk; all members only with GUILD_MEMBERS).

Sharding, as on Discord: ``GET /gateway/bot`` recommends ``shards`` (the simulator's
``shards`` setting); IDENTIFY may carry ``shard: [shard_id, shard_count]``; a session then gets,
at READY and afterwards, only the guilds with ``(guild_id >> 22) % shard_count == shard_id``
(GUILD_CREATE, every later guild event and the guild's interactions). Events without a guild
(DMs, DM interactions) go to shard 0 only. Without ``shard`` a session gets every guild. Several
processes may each identify with their own shard at the same time.

Close codes used: 4001 unknown opcode, 4002 decode error, 4003 not authenticated, 4004
authentication failed, 4005 already authenticated, 4008 rate limited (more than 120 payloads a
minute), 4009 session timed out (no heartbeat), 4010 invalid shard (not ``[id, count]`` with
``0 <= id < count``), 4011 sharding required (the session would get more than
``max_guilds_per_shard`` guilds), 4012 invalid API version, 4013 invalid intents, 4014
disallowed (privileged) intents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from . import jsoncodec
from . import payloads as pl
from .state import (
    INTENT_GUILD_MEMBERS,
    PRIVILEGED_INTENTS,
    PayloadFactory,
    SimState,
)

_log = logging.getLogger(__name__)

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

ALL_INTENTS = (1 << 26) - 1
SYNC_FLUSH_SUFFIX = b"\x00\x00\xff\xff"


def _zstd_compressor() -> Callable[[bytes], bytes] | None:
    """A streaming zstd compressor flushing each message, if a zstd module is available."""
    try:
        import zstandard

        obj = zstandard.ZstdCompressor().compressobj()

        def compress_zstandard(data: bytes) -> bytes:
            return bytes(obj.compress(data) + obj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))

        return compress_zstandard
    except ImportError:
        pass
    try:
        from compression import zstd

        comp = zstd.ZstdCompressor()

        def compress_stdlib(data: bytes) -> bytes:
            return bytes(comp.compress(data, mode=zstd.ZstdCompressor.FLUSH_BLOCK))

        return compress_stdlib
    except ImportError:
        return None


@dataclass
class GatewayEvent:
    """One dispatched event as logged by the simulator (for tests and debugging)."""

    name: str
    session_id: str
    seq: int
    data: dict[str, Any]
    at: float


class Connection:
    """One websocket connection (a session may have several over its life)."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None, url: str) -> None:
        self.ws = ws
        self.url = url
        self.compress_mode = compress
        self.session: Session | None = None
        #: Frames to write, each with what to call once it is written (see ``on_sent``).
        self.queue: asyncio.Queue[tuple[str, Callable[[], None] | None] | None] = asyncio.Queue()
        self.last_heartbeat: float = 0.0
        self.received: deque[float] = deque()
        self.closing = False
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._zstd = _zstd_compressor() if compress == "zstd-stream" else None

    def encode(self, text: str) -> bytes | str:
        data = text.encode("utf-8")
        if self._zlib is not None:
            return self._zlib.compress(data) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self._zstd is not None:
            return self._zstd(data)
        return text

    def send(
        self, payload: dict[str, Any] | str, on_sent: Callable[[], None] | None = None
    ) -> None:
        text = payload if isinstance(payload, str) else jsoncodec.dumps(payload)
        self.queue.put_nowait((text, on_sent))


@dataclass
class Session:
    """A gateway session (READY ... until invalidated)."""

    id: str
    intents: int
    shard: tuple[int, int] | None
    connection: Connection | None
    seq: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=5000))
    disconnected_at: float | None = None
    invalidated: bool = False
    presence: dict[str, Any] | None = None

    def handles_guild(self, guild_id: int | None) -> bool:
        if self.shard is None:
            return True
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0
        return guild_shard(guild_id, count) == shard_id


def _parse_shard(value: Any) -> tuple[int, int] | None:
    """``[shard_id, shard_count]`` from IDENTIFY, or None when Discord would answer 4010."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
        return None
    shard_id, count = value
    if count < 1 or not 0 <= shard_id < count:
        return None
    return (shard_id, count)


class _Once:
    """Calls ``callback`` the first time it is called (an event may go to several sessions)."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback: Callable[[], None] | None = callback

    def __call__(self) -> None:
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()


def guild_shard(guild_id: int, shard_count: int) -> int:
    """The shard that owns ``guild_id`` (Discord's documented formula)."""
    return (guild_id >> 22) % shard_count


class GatewayServer:
    """The gateway half of the simulator; also the state's :class:`EventSink`."""

    def __init__(
        self,
        state: SimState,
        *,
        token: str,
        clock: Callable[[], float],
        heartbeat_interval: float = 41.25,
        resume_window: float = 120.0,
        allowed_intents: int = ALL_INTENTS,
        log_limit: int = 20_000,
        shards: int = 1,
        max_guilds_per_shard: int = 2500,
    ) -> None:
        if shards < 1 or max_guilds_per_shard < 1:
            raise ValueError("shards and max_guilds_per_shard must be at least 1")
        self.state = state
        #: The shard count GET /gateway/bot recommends.
        self.shards = shards
        self.max_guilds_per_shard = max_guilds_per_shard
        self.token = token
        self.clock = clock
        self.heartbeat_interval = heartbeat_interval
        self.resume_window = resume_window
        self.allowed_intents = allowed_intents
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.events: deque[GatewayEvent] = deque(maxlen=log_limit)
        self.resume_url = ""
        self.identify_count = 0
        self.resume_count = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        # Heartbeats, resume windows and the gateway send limit are about real connections, so
        # they use the real monotonic clock, not the driver's (advance_time) clock.
        self.real_clock: Callable[[], float] = time.monotonic

    # ------------------------------------------------------------------ dispatch (EventSink)
    def live_sessions(self) -> list[Session]:
        """Sessions that are connected or could still resume."""
        now = self.real_clock()
        out = []
        for sess in list(self.sessions.values()):
            if sess.connection is None and sess.disconnected_at is not None:
                if now - sess.disconnected_at > self.resume_window:
                    sess.invalidated = True
            if sess.invalidated:
                if sess.connection is None:
                    del self.sessions[sess.id]  # nothing can resume it any more
                continue
            out.append(sess)
        return out

    def connected_sessions(self) -> list[Session]:
        return [s for s in self.live_sessions() if s.connection is not None]

    def dispatch(
        self,
        event: str,
        payload: dict[str, Any] | PayloadFactory,
        *,
        intent: int | None = None,
        guild_id: int | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> None:
        once = _Once(on_sent) if on_sent is not None else None
        for sess in self.live_sessions():
            if intent is not None and not sess.intents & intent:
                continue
            if not sess.handles_guild(guild_id):
                continue
            data = payload(sess.intents) if callable(payload) else payload
            if data is None:
                continue
            self._send_dispatch(sess, event, data, once)

    def _send_dispatch(
        self,
        sess: Session,
        event: str,
        data: dict[str, Any],
        on_sent: Callable[[], None] | None = None,
    ) -> None:
        sess.seq += 1
        text = jsoncodec.dumps({"op": OP_DISPATCH, "t": event, "s": sess.seq, "d": data})
        sess.buffer.append((sess.seq, text))
        self.events.append(GatewayEvent(event, sess.id, sess.seq, data, self.clock()))
        if sess.connection is not None and not sess.connection.closing:
            sess.connection.send(text, on_sent)
        _log.debug("dispatch %s seq=%s session=%s", event, sess.seq, sess.id)

    # ------------------------------------------------------------------ websocket handling
    async def handle(self, request: web.Request) -> web.StreamResponse:
        version = request.query.get("v", "10")
        encoding = request.query.get("encoding", "json")
        compress = request.query.get("compress")
        ws = web.WebSocketResponse(max_msg_size=0, timeout=2.0, autoping=True)
        await ws.prepare(request)
        if compress == "zstd-stream" and _zstd_compressor() is None:
            _log.warning("client asked for zstd-stream but no zstd module is installed")
            await ws.close(code=4002, message=b"zstd-stream unavailable")
            return ws
        conn = Connection(
            ws, compress if compress in ("zlib-stream", "zstd-stream") else None, str(request.url)
        )
        if self._closed:
            await ws.close(code=1001, message=b"simulator closing")
            return ws
        self.connections.add(conn)
        writer = asyncio.create_task(self._writer(conn), name="sim-gateway-writer")
        watchdog = asyncio.create_task(self._watchdog(conn), name="sim-gateway-watchdog")
        try:
            if version not in ("9", "10"):
                await self._close(conn, 4012, "Invalid API version")
                return ws
            if encoding != "json":
                await self._close(conn, 4002, "Only encoding=json is supported")
                return ws
            conn.last_heartbeat = self.real_clock()
            conn.send(
                {
                    "op": OP_HELLO,
                    "d": {
                        "heartbeat_interval": int(self.heartbeat_interval * 1000),
                        "_trace": ['["sim-gateway"]'],
                    },
                }
            )
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await self._close(conn, 4002, "Binary payloads are not supported")
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._detach(conn)
            conn.queue.put_nowait(None)
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                await writer
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
            self.connections.discard(conn)
        return ws

    def _detach(self, conn: Connection) -> None:
        sess = conn.session
        if sess is None or sess.connection is not conn:
            return
        sess.connection = None
        sess.disconnected_at = self.real_clock()
        code = conn.ws.close_code
        if code in (1000, 1001) and not conn.closing:
            # A clean close by the client ends the session (discord.py's bot.close()).
            sess.invalidated = True
            _log.info("session %s closed by client (%s)", sess.id, code)
        else:
            _log.info("session %s disconnected (%s); resumable", sess.id, code)
        self.state.changed()

    async def _writer(self, conn: Connection) -> None:
        while True:
            item = await conn.queue.get()
            if item is None:
                return
            if conn.ws.closed:
                return
            text, on_sent = item
            data = conn.encode(text)
            try:
                if isinstance(data, bytes):
                    await conn.ws.send_bytes(data)
                else:
                    await conn.ws.send_str(data)
            except (ConnectionError, RuntimeError):
                return
            if on_sent is not None:
                on_sent()

    async def _watchdog(self, conn: Connection) -> None:
        """Close connections that stop heartbeating (Discord drops zombied clients)."""
        limit = self.heartbeat_interval * 1.5 + 1.0
        while not conn.ws.closed:
            await asyncio.sleep(min(self.heartbeat_interval / 2, 5.0))
            if self.real_clock() - conn.last_heartbeat > limit:
                _log.info("no heartbeat for %.1fs: closing with 4009", limit)
                await self._close(conn, 4009, "Session timed out")
                return

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        conn.closing = True
        _log.info("gateway closing connection: %s %s", code, reason)
        await conn.ws.close(code=code, message=reason.encode())

    async def _on_text(self, conn: Connection, text: str) -> None:
        now = self.real_clock()
        conn.received.append(now)
        while conn.received and now - conn.received[0] > 60:
            conn.received.popleft()
        if len(conn.received) > 120:
            await self._close(conn, 4008, "Rate limited.")
            return
        try:
            msg = jsoncodec.loads(text)
            op = int(msg["op"])
        except (ValueError, KeyError, TypeError):
            await self._close(conn, 4002, "Error while decoding payload.")
            return
        data = msg.get("d")
        if op == OP_HEARTBEAT:
            conn.last_heartbeat = now
            conn.send({"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {})
        elif conn.session is None:
            await self._close(conn, 4003, "Not authenticated.")
        elif op == OP_PRESENCE_UPDATE:
            conn.session.presence = data
        elif op == OP_VOICE_STATE_UPDATE:
            self._bot_voice(data or {})
        elif op == OP_REQUEST_GUILD_MEMBERS:
            self._members_chunk(conn.session, data or {})
        else:
            await self._close(conn, 4001, "Unknown opcode.")

    def _token_ok(self, token: Any) -> bool:
        if not isinstance(token, str):
            return False
        if token.startswith("Bot "):
            token = token[4:]
        return secrets.compare_digest(token, self.token)

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        if conn.session is not None:
            await self._close(conn, 4005, "Already authenticated.")
            return
        if not self._token_ok(data.get("token")):
            await self._close(conn, 4004, "Authentication failed.")
            return
        if "intents" not in data:
            await self._close(conn, 4013, "Invalid intent(s).")
            return
        intents = int(data["intents"])
        if intents & ~ALL_INTENTS:
            await self._close(conn, 4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.allowed_intents:
            await self._close(conn, 4014, "Disallowed intent(s).")
            return
        shard: tuple[int, int] | None = None
        if data.get("shard") is not None:
            shard = _parse_shard(data["shard"])
            if shard is None:
                await self._close(conn, 4010, "Invalid shard.")
                return
        sess = Session(id=secrets.token_hex(16), intents=intents, shard=shard, connection=conn)
        state = self.state
        guilds = [
            g
            for g in state.guilds.values()
            if state.bot.id in g.members and sess.handles_guild(g.id)
        ]
        if len(guilds) > self.max_guilds_per_shard:
            _log.info(
                "IDENTIFY shard=%s would get %d guilds (limit %d): 4011",
                shard,
                len(guilds),
                self.max_guilds_per_shard,
            )
            await self._close(conn, 4011, "Sharding required.")
            return
        conn.session = sess
        self.sessions[sess.id] = sess
        self.identify_count += 1
        ready: dict[str, Any] = {
            "v": 10,
            "user": {
                **pl.user_payload(state.bot),
                "verified": True,
                "mfa_enabled": False,
                "email": None,
            },
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": sess.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url,
            "application": {"id": str(state.application_id), "flags": self.application_flags()},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": ["sim"],
            "auth": {},
            "_trace": ['["sim-gateway"]'],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        _log.info("IDENTIFY ok: session %s intents=%s shard=%s", sess.id, intents, shard)
        self._send_dispatch(sess, "READY", ready)
        for guild in guilds:
            self._send_dispatch(sess, "GUILD_CREATE", state.guild_create_payload(guild, intents))
        state.changed()

    def application_flags(self) -> int:
        """Application flags announcing which privileged intents the app may use."""
        flags = 1 << 23  # APPLICATION_COMMAND_BADGE
        if self.allowed_intents & (1 << 8):
            flags |= 1 << 13  # GATEWAY_PRESENCE_LIMITED
        if self.allowed_intents & INTENT_GUILD_MEMBERS:
            flags |= 1 << 15  # GATEWAY_GUILD_MEMBERS_LIMITED
        if self.allowed_intents & (1 << 15):
            flags |= 1 << 19  # GATEWAY_MESSAGE_CONTENT_LIMITED
        return flags

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        if conn.session is not None:
            await self._close(conn, 4005, "Already authenticated.")
            return
        if not self._token_ok(data.get("token")):
            await self._close(conn, 4004, "Authentication failed.")
            return
        sess = self.sessions.get(str(data.get("session_id")))
        live = {s.id for s in self.live_sessions()}
        seq = data.get("seq")
        if sess is None or sess.id not in live:
            _log.info("RESUME for unknown/expired session: INVALID_SESSION")
            conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        missed = [(s, t) for s, t in sess.buffer if seq is None or s > int(seq)]
        if seq is not None and sess.buffer and sess.buffer[0][0] > int(seq) + 1:
            _log.info("RESUME too far behind: INVALID_SESSION")
            conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        old = sess.connection
        if old is not None and old is not conn:
            old.session = None
            old.closing = True
            task = asyncio.create_task(
                old.ws.close(code=4000, message=b"Session resumed elsewhere")
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        sess.connection = conn
        sess.disconnected_at = None
        conn.session = sess
        self.resume_count += 1
        _log.info("RESUME session %s from seq %s: replaying %d events", sess.id, seq, len(missed))
        for _, text in missed:
            conn.send(text)
        self._send_dispatch(sess, "RESUMED", {"_trace": ['["sim-gateway"]']})
        self.state.changed()

    def _bot_voice(self, data: dict[str, Any]) -> None:
        """OP 4 from the bot: join/leave voice (no voice server is simulated)."""
        try:
            guild_id = int(data["guild_id"])
        except (KeyError, TypeError, ValueError):
            return
        channel_id = data.get("channel_id")
        try:
            self.state.set_voice(
                guild_id,
                self.state.bot.id,
                int(channel_id) if channel_id else None,
                self_mute=bool(data.get("self_mute")),
                self_deaf=bool(data.get("self_deaf")),
            )
        except Exception:  # a bad op 4 is ignored by Discord too
            _log.exception("ignoring invalid voice state update %s", data)

    def _members_chunk(self, sess: Session, data: dict[str, Any]) -> None:
        """OP 8: answer with a single GUILD_MEMBERS_CHUNK."""
        try:
            guild = self.state.guilds[int(data["guild_id"])]
        except (KeyError, TypeError, ValueError):
            return
        user_ids = {int(u) for u in data.get("user_ids") or []}
        query = data.get("query")
        limit = int(data.get("limit") or 0)
        if user_ids:
            members = [m for uid, m in guild.members.items() if uid in user_ids]
        elif sess.intents & INTENT_GUILD_MEMBERS:
            q = (query or "").lower()
            members = [
                m
                for m in guild.members.values()
                if not q
                or m.user.username.lower().startswith(q)
                or (m.nick or "").lower().startswith(q)
            ]
        else:
            members = []
        if limit:
            members = members[:limit]
        payload: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [pl.member_payload(m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce"):
            payload["nonce"] = data["nonce"]
        if user_ids:
            payload["not_found"] = [str(u) for u in user_ids - set(guild.members)]
        self._send_dispatch(sess, "GUILD_MEMBERS_CHUNK", payload)

    # ------------------------------------------------------------------ driver controls
    async def drop_connections(self, code: int = 4000) -> None:
        """Close every socket as a network failure would (sessions stay resumable)."""
        for conn in list(self.connections):
            conn.closing = True
            with contextlib.suppress(Exception):
                await conn.ws.close(code=code, message=b"connection dropped by simulator")

    def request_reconnect(self) -> None:
        """Send OP 7 RECONNECT to every connection (the client should RESUME)."""
        for conn in list(self.connections):
            conn.send({"op": OP_RECONNECT, "d": None})

    def invalidate_sessions(self) -> None:
        """Send OP 9 INVALID_SESSION (not resumable) and forget every session."""
        for sess in self.live_sessions():
            sess.invalidated = True
            if sess.connection is not None:
                sess.connection.send({"op": OP_INVALID_SESSION, "d": False})

    async def close(self) -> None:
        """Close every websocket cleanly (1001 going away) and forget all sessions."""
        self._closed = True
        for conn in list(self.connections):
            conn.closing = True
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=b"simulator closing")
        for task in list(self._tasks):
            task.cancel()
        for sess in self.sessions.values():
            sess.invalidated = True
