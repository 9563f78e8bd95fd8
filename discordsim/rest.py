"""The simulated REST API (``/api/v10/...``) as an aiohttp application.

A middleware gives every request what Discord gives it: bot-token authentication (except for the
token-authenticated interaction and webhook routes), rate limiting with Discord's headers, JSON
error bodies ``{"code", "message", "errors"}``, a 404 with code 0 for unknown routes (logged at
WARNING so gaps in the simulator show up), and an entry in the REST log. Responses use
``Content-Type: application/json`` exactly, because discord.py compares the header verbatim and
would otherwise treat bodies as text.

Bodies may be JSON or ``multipart/form-data`` with ``payload_json`` and ``files[n]`` parts (what
discord.py sends with files); files over 10 MiB or requests over 25 MiB get 413 / 40005.

Routes (under ``/api/v{9,10}``)::

    GET    /gateway, /gateway/bot
    GET    /users/@me, /users/{user_id}
    POST   /users/@me/channels                                   (open a DM)
    GET    /oauth2/applications/@me, /applications/@me
    GET|PUT|POST        /applications/{app}/commands
    GET|PATCH|DELETE    /applications/{app}/commands/{command_id}
    GET|PUT|POST        /applications/{app}/guilds/{guild_id}/commands
    GET|PATCH|DELETE    /applications/{app}/guilds/{guild_id}/commands/{command_id}
    GET    /applications/{app}/guilds/{guild_id}/commands/permissions   (always [])
    GET    /guilds/{guild_id}
    GET|POST|PATCH      /guilds/{guild_id}/channels             (PATCH = positions)
    GET|POST            /guilds/{guild_id}/roles
    GET    /guilds/{guild_id}/members                            (needs GUILD_MEMBERS allowed)
    GET|PATCH|DELETE    /guilds/{guild_id}/members/{user_id}    (PATCH: nick, roles, mute,
                                                                 deaf, timeout, channel_id move)
    PUT|DELETE          /guilds/{guild_id}/members/{user_id}/roles/{role_id}
    GET    /guilds/{guild_id}/voice-states/@me, /{user_id}
    GET|POST            /guilds/{guild_id}/scheduled-events     (see :mod:`.events_rest`)
    GET|PATCH|DELETE    /guilds/{guild_id}/scheduled-events/{event_id}
    GET    /guilds/{guild_id}/scheduled-events/{event_id}/users
    GET|PATCH|DELETE    /channels/{channel_id}
    PUT|DELETE          /channels/{channel_id}/permissions/{overwrite_id}
    GET|POST            /channels/{channel_id}/messages
    POST   /channels/{channel_id}/messages/bulk-delete
    GET|PATCH|DELETE    /channels/{channel_id}/messages/{message_id}
    GET    /channels/{channel_id}/pins, /channels/{channel_id}/messages/pins
    PUT|DELETE          /channels/{channel_id}/pins/{message_id} (and .../messages/pins/{id})
    POST   /channels/{channel_id}/typing
    POST   /interactions/{interaction_id}/{token}/callback       (types 1,4,5,6,7,8,9)
    POST   /webhooks/{app}/{token}                                (interaction followups)
    GET|PATCH|DELETE    /webhooks/{app}/{token}/messages/{@original|message_id}

Outside the API: ``GET /attachments/{channel_id}/{attachment_id}/{filename}`` serves uploaded
files (attachment ``url``), so ``Attachment.read()`` works.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.web_exceptions import HTTPException as AiohttpHTTPException

from . import errors as E
from . import jsoncodec
from . import payloads as pl
from .errors import ApiError
from .events_rest import add_scheduled_event_routes
from .faults import FaultPolicy
from .gateway import GatewayServer
from .interactions import InteractionManager
from .permissions import P, has
from .ratelimit import RateLimitDecision, RateLimiter
from .snowflake import iso
from .state import INTENT_GUILD_MEMBERS, MAX_FILE_SIZE, MAX_REQUEST_SIZE, SimState, UploadedFile

_log = logging.getLogger(__name__)

API_PREFIX = r"/api/v{version:\d+}"
BODY_KEY = web.RequestKey("sim_body", object)
FILES_KEY: web.RequestKey[list[UploadedFile]] = web.RequestKey("sim_files", list)
JSON_HEADERS = {"Content-Type": "application/json"}
ID = r"\d+"

#: Routes authenticated by the token in their path (no ``Authorization`` header needed).
_TOKEN_ROUTES = frozenset(
    {
        "/interactions/{interaction_id}/{interaction_token}/callback",
        "/webhooks/{webhook_id}/{webhook_token}",
        "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
    }
)


@dataclass
class RestCall:
    """One REST request as seen by the simulator (``sim.rest_log``)."""

    method: str
    route: str
    path: str
    status: int
    at: float
    bucket: str | None = None
    code: int | None = None
    #: Discord's nested ``errors`` object of a 400 / 50035 answer.
    errors: dict[str, Any] | None = None
    reason: str | None = None
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    retry_after: float | None = None
    is_global: bool = False
    files: int = 0

    def __str__(self) -> str:
        extra = f" code={self.code}" if self.code is not None else ""
        return f"{self.method} {self.path} -> {self.status}{extra}"


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json``."""
    return web.Response(
        body=jsoncodec.dumps_bytes(data),
        status=status,
        headers={**JSON_HEADERS, **(headers or {})},
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def error_response(exc: ApiError) -> web.Response:
    return json_response(exc.body(), status=exc.status)


def _int(value: str) -> int:
    return int(value)


class RestApi:
    """Builds the aiohttp app and implements every route against the shared state."""

    def __init__(
        self,
        state: SimState,
        interactions: InteractionManager,
        gateway: GatewayServer,
        limiter: RateLimiter,
        *,
        token: str,
        clock: Callable[[], float],
        log_limit: int = 20_000,
    ) -> None:
        self.state = state
        self.interactions = interactions
        self.gateway = gateway
        self.limiter = limiter
        self.token = token
        self.clock = clock
        self.log: deque[RestCall] = deque(maxlen=log_limit)
        self.gateway_url = ""
        self.unknown_routes: list[str] = []
        #: Injected errors (:mod:`.faults`); asked before the rate limiter about every call.
        self.faults = FaultPolicy(clock=clock)

    # ------------------------------------------------------------------ app wiring
    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=MAX_REQUEST_SIZE * 4)
        r = app.router
        add = self._add
        add(r, "GET", "/gateway", self.get_gateway)
        add(r, "GET", "/gateway/bot", self.get_gateway_bot)
        add(r, "GET", "/users/@me", self.get_me)
        add(r, "POST", "/users/@me/channels", self.open_dm)
        add(r, "GET", "/users/{user_id:\\d+}", self.get_user)
        add(r, "GET", "/oauth2/applications/@me", self.get_application)
        add(r, "GET", "/applications/@me", self.get_application)
        for prefix in (
            "/applications/{application_id:\\d+}",
            "/applications/{application_id:\\d+}/guilds/{guild_id:\\d+}",
        ):
            add(r, "GET", prefix + "/commands", self.list_commands)
            add(r, "PUT", prefix + "/commands", self.put_commands)
            add(r, "POST", prefix + "/commands", self.post_command)
            add(r, "GET", prefix + "/commands/{command_id:\\d+}", self.get_command)
            add(r, "PATCH", prefix + "/commands/{command_id:\\d+}", self.patch_command)
            add(r, "DELETE", prefix + "/commands/{command_id:\\d+}", self.delete_command)
        add(
            r,
            "GET",
            "/applications/{application_id:\\d+}/guilds/{guild_id:\\d+}/commands/permissions",
            self.command_permissions,
        )
        g = "/guilds/{guild_id:\\d+}"
        add(r, "GET", g, self.get_guild)
        add(r, "GET", g + "/channels", self.get_guild_channels)
        add(r, "POST", g + "/channels", self.create_channel)
        add(r, "PATCH", g + "/channels", self.edit_positions)
        add(r, "GET", g + "/roles", self.get_roles)
        add(r, "POST", g + "/roles", self.create_role)
        add(r, "GET", g + "/members", self.list_members)
        add(r, "GET", g + "/members/{user_id:\\d+}", self.get_member)
        add(r, "PATCH", g + "/members/{user_id:\\d+}", self.edit_member)
        add(r, "DELETE", g + "/members/{user_id:\\d+}", self.kick_member)
        add(r, "PUT", g + "/members/{user_id:\\d+}/roles/{role_id:\\d+}", self.add_role)
        add(r, "DELETE", g + "/members/{user_id:\\d+}/roles/{role_id:\\d+}", self.remove_role)
        add(r, "GET", g + "/voice-states/{user_id:(@me|\\d+)}", self.get_voice_state)
        add_scheduled_event_routes(self, r)
        c = "/channels/{channel_id:\\d+}"
        add(r, "GET", c, self.get_channel)
        add(r, "PATCH", c, self.edit_channel)
        add(r, "DELETE", c, self.delete_channel)
        add(r, "PUT", c + "/permissions/{overwrite_id:\\d+}", self.put_overwrite)
        add(r, "DELETE", c + "/permissions/{overwrite_id:\\d+}", self.delete_overwrite)
        add(r, "GET", c + "/messages", self.list_messages)
        add(r, "POST", c + "/messages", self.create_message)
        add(r, "POST", c + "/messages/bulk-delete", self.bulk_delete)
        add(r, "GET", c + "/messages/pins", self.list_pins_new)
        add(r, "PUT", c + "/messages/pins/{message_id:\\d+}", self.pin)
        add(r, "DELETE", c + "/messages/pins/{message_id:\\d+}", self.unpin)
        add(r, "GET", c + "/pins", self.list_pins_old)
        add(r, "PUT", c + "/pins/{message_id:\\d+}", self.pin)
        add(r, "DELETE", c + "/pins/{message_id:\\d+}", self.unpin)
        add(r, "GET", c + "/messages/{message_id:\\d+}", self.get_message)
        add(r, "PATCH", c + "/messages/{message_id:\\d+}", self.edit_message)
        add(r, "DELETE", c + "/messages/{message_id:\\d+}", self.delete_message)
        add(r, "POST", c + "/typing", self.typing)
        add(
            r,
            "POST",
            "/interactions/{interaction_id:\\d+}/{interaction_token}/callback",
            self.interaction_callback,
        )
        w = "/webhooks/{webhook_id:\\d+}/{webhook_token}"
        add(r, "POST", w, self.followup)
        add(r, "GET", w + "/messages/{message_id:(@original|\\d+)}", self.get_webhook_message)
        add(r, "PATCH", w + "/messages/{message_id:(@original|\\d+)}", self.edit_webhook_message)
        add(r, "DELETE", w + "/messages/{message_id:(@original|\\d+)}", self.delete_webhook_message)
        r.add_get(
            "/attachments/{channel_id:\\d+}/{attachment_id:\\d+}/{filename}", self.get_attachment
        )
        return app

    @staticmethod
    def _add(
        router: web.UrlDispatcher,
        method: str,
        path: str,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> None:
        router.add_route(method, API_PREFIX + path, handler)

    # ------------------------------------------------------------------ middleware
    @staticmethod
    def _template(request: web.Request) -> str | None:
        info = request.match_info
        if info.http_exception is not None:
            return None
        route = info.route
        resource = route.resource
        if resource is None:
            return None
        canonical = resource.canonical
        prefix = "/api/v{version}"
        if canonical.startswith(prefix):
            return canonical[len(prefix) :]
        return canonical

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        """JSON or multipart body; enforces Discord's upload limits (413 / 40005)."""
        ctype = request.content_type
        files: list[UploadedFile] = []
        if ctype.startswith("multipart/"):
            reader = await request.multipart()
            payload: Any = None
            total = 0
            too_large = False
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue  # nested multipart: Discord does not accept it either
                name = part.name or ""
                data = await part.read(decode=False)
                total += len(data)
                if name == "payload_json":
                    try:
                        payload = jsoncodec.loads(data)
                    except ValueError:
                        raise ApiError(
                            400, 50109, "The request body contains invalid JSON."
                        ) from None
                elif name.startswith("files[") or name.startswith("file"):
                    if len(data) > MAX_FILE_SIZE:
                        too_large = True
                    idx_text = name[6:-1] if name.startswith("files[") else "0"
                    try:
                        index = int(idx_text)
                    except ValueError:
                        index = len(files)
                    files.append(
                        UploadedFile(
                            index=index,
                            filename=part.filename or f"file{index}",
                            data=bytes(data),
                            content_type=part.headers.get("Content-Type"),
                        )
                    )
            if too_large or total > MAX_REQUEST_SIZE:
                raise ApiError(413, E.ENTITY_TOO_LARGE, "Request entity too large")
            return payload, files
        raw = await request.read()
        if not raw:
            return None, files
        try:
            return jsoncodec.loads(raw), files
        except ValueError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None

    @web.middleware
    async def _middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        template = self._template(request)
        method = request.method
        now = self.clock()
        call = RestCall(
            method=method,
            route=template or "?",
            path=request.path,
            status=0,
            at=now,
            reason=request.headers.get("X-Audit-Log-Reason"),
            query=dict(request.query),
        )
        self.log.append(call)
        decision: RateLimitDecision | None = None
        try:
            if template is None:
                exc = request.match_info.http_exception
                if exc is not None and exc.status == 405:
                    raise ApiError(405, E.GENERAL, "405: Method Not Allowed")
                _log.warning("simulator has no route for %s %s", method, request.path)
                self.unknown_routes.append(f"{method} {request.path}")
                raise ApiError(404, E.GENERAL, "404: Not Found")
            if template not in _TOKEN_ROUTES:
                auth = request.headers.get("Authorization", "")
                if auth != f"Bot {self.token}":
                    raise E.unauthorized()
            body, files = await self._read_body(request)
            call.body = body
            call.files = len(files)
            request[BODY_KEY] = body
            request[FILES_KEY] = files
            body_keys = body.keys() if isinstance(body, dict) else ()
            params = {k: v for k, v in request.match_info.items() if k != "version"}
            injected = self.faults.answer(method, template, request.path, params)
            if injected is not None:
                call.status = injected.status
                self.state.changed()
                return injected
            decision = self.limiter.check(method, template, params, body_keys)
            call.bucket = decision.bucket
            response: web.StreamResponse
            if not decision.allowed:
                response = self._limited(decision)
            else:
                response = await handler(request)
                if decision.headers:
                    response.headers.update(decision.headers)
        except ApiError as exc:
            response = error_response(exc)
            call.code = exc.code
            call.errors = exc.errors
            if decision is not None and decision.headers and exc.status != 413:
                response.headers.update(decision.headers)
        except AiohttpHTTPException:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            # Malformed input (a non-numeric id, a missing key): Discord answers 400 / 50035.
            # Logged with the traceback in case it is a simulator bug rather than a bad request.
            _log.warning("bad request %s %s: %r", method, request.path, exc, exc_info=True)
            bad = E.invalid_form_body(
                {"_errors": [{"code": "BASE_TYPE_BAD_INPUT", "message": str(exc)[:200]}]}
            )
            response = error_response(bad)
            call.code = bad.code
            call.errors = bad.errors
        except Exception:
            _log.exception("simulator error handling %s %s", method, request.path)
            response = json_response(
                {"message": "500: Internal Server Error", "code": 0}, status=500
            )
        call.status = response.status
        banned = decision is not None and decision.cloudflare_ban
        if response.status in (401, 403, 429) and not banned:
            self.limiter.record_invalid(response.status, decision.scope if decision else None)
        if response.status >= 400 and response.status != 429:
            _log.info("REST %s %s -> %s %s", method, request.path, response.status, call.code)
        self.state.changed()
        return response

    def _limited(self, decision: RateLimitDecision) -> web.Response:
        """A 429 the way Discord (behind Google's front end) sends it."""
        if decision.cloudflare_ban:
            # What Cloudflare serves to banned IPs: HTML, no Via header.
            return web.Response(
                status=429,
                text="<html><body>error code: 1015</body></html>",
                content_type="text/html",
                headers={"Retry-After": str(int(decision.retry_after) + 1)},
            )
        body = {
            "message": "You are being rate limited.",
            "retry_after": round(decision.retry_after, 3),
            "global": decision.is_global,
        }
        if decision.is_global:
            body["code"] = 0
        headers = {**decision.headers, "Via": "1.1 google"}
        self.log[-1].retry_after = decision.retry_after
        self.log[-1].is_global = decision.is_global
        _log.info(
            "429 for %s (retry after %.3fs, global=%s)",
            self.log[-1].path,
            decision.retry_after,
            decision.is_global,
        )
        return json_response(body, status=429, headers=headers)

    @staticmethod
    def _body(request: web.Request) -> Any:
        return request.get(BODY_KEY)

    @staticmethod
    def _dict_body(request: web.Request) -> dict[str, Any]:
        body = request.get(BODY_KEY)
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise E.invalid_form_body(
                {
                    "_errors": [
                        {
                            "code": "DICT_TYPE_CONVERT",
                            "message": "Only dictionaries may be used in a DictType",
                        }
                    ]
                }
            )
        return body

    @staticmethod
    def _files(request: web.Request) -> list[UploadedFile]:
        return list(request.get(FILES_KEY) or [])

    # ------------------------------------------------------------------ gateway / users / app
    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.gateway_url,
                "shards": self.gateway.shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": max(0, 1000 - self.gateway.identify_count),
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def get_me(self, request: web.Request) -> web.Response:
        bot = self.state.bot
        return json_response(
            {**pl.user_payload(bot), "verified": True, "mfa_enabled": False, "email": None}
        )

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.state.user(_int(request.match_info["user_id"]))
        return json_response(pl.user_payload(user))

    async def get_application(self, request: web.Request) -> web.Response:
        state = self.state
        owner = next(iter(state.users.values()))
        for guild in state.guilds.values():
            owner = state.users.get(guild.owner_id, owner)
            break
        return json_response(
            {
                "id": str(state.application_id),
                "name": state.bot.name,
                "icon": None,
                "description": "Simulated application",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": pl.user_payload(owner),
                "team": None,
                "flags": self.gateway.application_flags(),
                "bot": pl.user_payload(state.bot),
                "approximate_guild_count": len(state.guilds),
                "interactions_endpoint_url": None,
                "redirect_uris": [],
                "tags": [],
                "install_params": None,
                "integration_types_config": {"0": {}},
            }
        )

    async def open_dm(self, request: web.Request) -> web.Response:
        body = self._dict_body(request)
        try:
            user_id = int(body["recipient_id"])
        except (KeyError, TypeError, ValueError):
            raise E.invalid_form_body(
                {"recipient_id": E.field_error("BASE_TYPE_REQUIRED", "This field is required")}
            ) from None
        if user_id == self.state.bot.id:
            raise ApiError(400, E.CANNOT_DM_USER, "Cannot send messages to this user")
        channel = self.state.open_dm(user_id)
        return json_response(self.state.dm_payload(channel))

    # ------------------------------------------------------------------ commands
    def _app_guild(self, request: web.Request) -> int | None:
        if _int(request.match_info["application_id"]) != self.state.application_id:
            raise ApiError(403, E.MISSING_ACCESS, "Missing Access")
        gid = request.match_info.get("guild_id")
        if gid is None:
            return None
        guild_id = int(gid)
        guild = self.state.guild(guild_id)
        if self.state.bot.id not in guild.members:
            raise E.missing_access()
        return guild_id

    def _store(self, guild_id: int | None) -> dict[int, Any]:
        if guild_id is None:
            return self.state.global_commands
        return self.state.guild_commands.setdefault(guild_id, {})

    async def list_commands(self, request: web.Request) -> web.Response:
        guild_id = self._app_guild(request)
        return json_response(
            [self.state.command_payload(c) for c in self._store(guild_id).values()]
        )

    async def put_commands(self, request: web.Request) -> web.Response:
        guild_id = self._app_guild(request)
        stored = self.state.overwrite_commands(guild_id, self._body(request))
        _log.info(
            "commands synced (%s): %s",
            "global" if guild_id is None else guild_id,
            [c.name for c in stored],
        )
        return json_response([self.state.command_payload(c) for c in stored])

    async def post_command(self, request: web.Request) -> web.Response:
        guild_id = self._app_guild(request)
        cmd = self.state.upsert_command(guild_id, self._dict_body(request))
        return json_response(self.state.command_payload(cmd), status=201)

    def _command(self, request: web.Request) -> Any:
        guild_id = self._app_guild(request)
        cmd = self._store(guild_id).get(_int(request.match_info["command_id"]))
        if cmd is None:
            raise E.not_found(E.UNKNOWN_APPLICATION_COMMAND, "application command")
        return guild_id, cmd

    async def get_command(self, request: web.Request) -> web.Response:
        _, cmd = self._command(request)
        return json_response(self.state.command_payload(cmd))

    async def patch_command(self, request: web.Request) -> web.Response:
        guild_id, cmd = self._command(request)
        merged = {**cmd.payload, **self._dict_body(request)}
        cmd = self.state.upsert_command(guild_id, merged)
        return json_response(self.state.command_payload(cmd))

    async def delete_command(self, request: web.Request) -> web.Response:
        guild_id, cmd = self._command(request)
        del self._store(guild_id)[cmd.id]
        self.state.changed()
        return no_content()

    async def command_permissions(self, request: web.Request) -> web.Response:
        self._app_guild(request)
        return json_response([])

    # ------------------------------------------------------------------ guilds
    def _guild(self, request: web.Request) -> Any:
        guild = self.state.guild(_int(request.match_info["guild_id"]))
        if self.state.bot.id not in guild.members:
            raise E.missing_access()
        return guild

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        out = pl.guild_payload(guild)
        if request.query.get("with_counts") == "true":
            out["approximate_member_count"] = len(guild.members)
            out["approximate_presence_count"] = 0
        return json_response(out)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return json_response([pl.channel_payload(c) for c in self.state.guild_channels(guild.id)])

    async def create_channel(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        channel = self.state.create_channel(guild.id, self._dict_body(request), as_bot=True)
        return json_response(pl.channel_payload(channel), status=201)

    async def edit_positions(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        self.state.edit_positions(guild.id, self._body(request))
        return no_content()

    async def get_roles(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return json_response([pl.role_payload(r) for r in guild.roles.values()])

    async def create_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        role = self.state.rest_create_role(guild.id, self._dict_body(request))
        return json_response(pl.role_payload(role))

    async def list_members(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        if not self.gateway.allowed_intents & INTENT_GUILD_MEMBERS:
            raise E.missing_access()
        limit = max(1, min(1000, int(request.query.get("limit", "1"))))
        after = int(request.query.get("after", "0"))
        members = sorted(
            (m for uid, m in guild.members.items() if uid > after), key=lambda m: m.user_id
        )
        return json_response([pl.member_payload(m) for m in members[:limit]])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        member = self.state.member(guild.id, _int(request.match_info["user_id"]))
        return json_response(pl.member_payload(member))

    async def edit_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        member = self.state.rest_edit_member(
            guild.id, _int(request.match_info["user_id"]), self._dict_body(request)
        )
        return json_response(pl.member_payload(member))

    async def kick_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        self.state.rest_kick(guild.id, _int(request.match_info["user_id"]))
        return no_content()

    async def add_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        self.state.add_member_role(
            guild.id,
            _int(request.match_info["user_id"]),
            _int(request.match_info["role_id"]),
            as_bot=True,
        )
        return no_content()

    async def remove_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        self.state.remove_member_role(
            guild.id,
            _int(request.match_info["user_id"]),
            _int(request.match_info["role_id"]),
            as_bot=True,
        )
        return no_content()

    async def get_voice_state(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        raw = request.match_info["user_id"]
        user_id = self.state.bot.id if raw == "@me" else int(raw)
        vs = guild.voice_states.get(user_id)
        if vs is None or vs.channel_id is None:
            raise E.not_found(E.UNKNOWN_VOICE_STATE, "Voice State")
        return json_response(pl.voice_state_payload(vs, member=guild.members.get(user_id)))

    # ------------------------------------------------------------------ channels
    def _visible_channel(self, request: web.Request) -> Any:
        """The channel, 404 if unknown, 403/50001 if the bot cannot see it."""
        channel = self.state.channel(_int(request.match_info["channel_id"]))
        if channel.guild_id is None:
            if channel.recipient_id is None:
                raise E.missing_access()
            return channel
        guild = self.state.guild(channel.guild_id)
        self.state.require_bot(guild, channel)
        return channel

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self.state.channel(_int(request.match_info["channel_id"]))
        if channel.guild_id is None:
            return json_response(self.state.dm_payload(channel))
        guild = self.state.guild(channel.guild_id)
        if self.state.bot.id not in guild.members:
            raise E.missing_access()
        return json_response(pl.channel_payload(channel))

    async def edit_channel(self, request: web.Request) -> web.Response:
        channel = self.state.edit_channel(
            _int(request.match_info["channel_id"]), self._dict_body(request), as_bot=True
        )
        return json_response(pl.channel_payload(channel))

    async def delete_channel(self, request: web.Request) -> web.Response:
        channel = self.state.delete_channel(_int(request.match_info["channel_id"]), as_bot=True)
        return json_response(pl.channel_payload(channel))

    async def put_overwrite(self, request: web.Request) -> web.Response:
        self.state.put_overwrite(
            _int(request.match_info["channel_id"]),
            _int(request.match_info["overwrite_id"]),
            self._dict_body(request),
            as_bot=True,
        )
        return no_content()

    async def delete_overwrite(self, request: web.Request) -> web.Response:
        self.state.delete_overwrite(
            _int(request.match_info["channel_id"]),
            _int(request.match_info["overwrite_id"]),
            as_bot=True,
        )
        return no_content()

    # ------------------------------------------------------------------ messages
    def _history_allowed(self, channel: Any) -> bool:
        if channel.guild_id is None:
            return True
        guild = self.state.guild(channel.guild_id)
        return has(self.state.bot_permissions(guild, channel), P.READ_MESSAGE_HISTORY)

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = self._visible_channel(request)
        if not self._history_allowed(channel):
            return json_response([])
        q = request.query
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            limit = 50
        if not 1 <= limit <= 100:
            raise E.invalid_form_body(
                {
                    "limit": E.field_error(
                        "NUMBER_TYPE_MAX", "int value should be less than or equal to 100."
                    )
                }
            )
        msgs = self.state.list_messages(
            channel.id,
            limit=limit,
            before=int(q["before"]) if "before" in q else None,
            after=int(q["after"]) if "after" in q else None,
            around=int(q["around"]) if "around" in q else None,
        )
        return json_response([_stored(self.state.message_payload(m)) for m in msgs])

    async def create_message(self, request: web.Request) -> web.Response:
        channel_id = _int(request.match_info["channel_id"])
        self.state.channel(channel_id)
        msg = self.state.create_message(
            channel_id,
            self._dict_body(request),
            self._files(request),
            author_id=self.state.bot.id,
        )
        return json_response(self.state.message_payload(msg))

    async def bulk_delete(self, request: web.Request) -> web.Response:
        body = self._dict_body(request)
        self.state.bulk_delete(
            _int(request.match_info["channel_id"]), [int(m) for m in body.get("messages") or []]
        )
        return no_content()

    async def get_message(self, request: web.Request) -> web.Response:
        channel = self._visible_channel(request)
        if not self._history_allowed(channel):
            raise E.missing_permissions()
        msg = self.state.message(channel.id, _int(request.match_info["message_id"]))
        if msg.ephemeral:
            raise E.not_found(E.UNKNOWN_MESSAGE, "Message")
        return json_response(_stored(self.state.message_payload(msg)))

    async def edit_message(self, request: web.Request) -> web.Response:
        channel = self._visible_channel(request)
        msg = self.state.message(channel.id, _int(request.match_info["message_id"]))
        if msg.ephemeral:
            raise E.not_found(E.UNKNOWN_MESSAGE, "Message")
        msg = self.state.edit_message(
            msg, self._dict_body(request), self._files(request), as_bot=True
        )
        return json_response(self.state.message_payload(msg))

    async def delete_message(self, request: web.Request) -> web.Response:
        channel = self._visible_channel(request)
        msg = self.state.message(channel.id, _int(request.match_info["message_id"]))
        if msg.ephemeral:
            raise E.not_found(E.UNKNOWN_MESSAGE, "Message")
        self.state.delete_message(msg, as_bot=True)
        return no_content()

    async def pin(self, request: web.Request) -> web.Response:
        self.state.set_pinned(
            _int(request.match_info["channel_id"]), _int(request.match_info["message_id"]), True
        )
        return no_content()

    async def unpin(self, request: web.Request) -> web.Response:
        self.state.set_pinned(
            _int(request.match_info["channel_id"]), _int(request.match_info["message_id"]), False
        )
        return no_content()

    def _pinned(self, request: web.Request) -> list[Any]:
        channel = self._visible_channel(request)
        ids = self.state.channel_messages.get(channel.id, [])
        msgs = [self.state.messages[m] for m in ids]
        return [m for m in reversed(msgs) if m.pinned and not m.deleted]

    async def list_pins_new(self, request: web.Request) -> web.Response:
        items = [
            {
                "pinned_at": iso(m.edited_at or m.created_at),
                "message": self.state.message_payload(m),
            }
            for m in self._pinned(request)
        ]
        return json_response({"items": items, "has_more": False})

    async def list_pins_old(self, request: web.Request) -> web.Response:
        return json_response([self.state.message_payload(m) for m in self._pinned(request)])

    async def typing(self, request: web.Request) -> web.Response:
        self._visible_channel(request)
        return no_content()

    # ------------------------------------------------------------------ interactions
    async def interaction_callback(self, request: web.Request) -> web.Response:
        with_response = request.query.get("with_response", "").lower() in ("1", "true")
        out = self.interactions.callback(
            _int(request.match_info["interaction_id"]),
            request.match_info["interaction_token"],
            self._dict_body(request),
            self._files(request),
            with_response=with_response,
        )
        if out is None:
            return no_content()
        return json_response(out)

    async def followup(self, request: web.Request) -> web.Response:
        msg = self.interactions.followup(
            _int(request.match_info["webhook_id"]),
            request.match_info["webhook_token"],
            self._dict_body(request),
            self._files(request),
        )
        return json_response(self.state.message_payload(msg))

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        msg = self.interactions.get_message(
            _int(request.match_info["webhook_id"]),
            request.match_info["webhook_token"],
            request.match_info["message_id"],
        )
        return json_response(self.state.message_payload(msg))

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        msg = self.interactions.edit_message(
            _int(request.match_info["webhook_id"]),
            request.match_info["webhook_token"],
            request.match_info["message_id"],
            self._dict_body(request),
            self._files(request),
        )
        return json_response(self.state.message_payload(msg))

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        self.interactions.delete_message(
            _int(request.match_info["webhook_id"]),
            request.match_info["webhook_token"],
            request.match_info["message_id"],
        )
        return no_content()

    # ------------------------------------------------------------------ CDN
    async def get_attachment(self, request: web.Request) -> web.Response:
        att = self.state.attachment_index.get(_int(request.match_info["attachment_id"]))
        if att is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(
            body=att.data, content_type=att.content_type or "application/octet-stream"
        )


def _stored(payload: dict[str, Any]) -> dict[str, Any]:
    """A message as Discord gives it back later (history, fetch): the nonce is not stored, it
    is only in the Create Message response and the MESSAGE_CREATE event. So after a restart a
    bot can tell what it already posted only by author and content, never by nonce."""
    payload.pop("nonce", None)
    return payload
