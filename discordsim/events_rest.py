"""REST routes for guild scheduled events, plugged into :class:`~discordsim.rest.RestApi`.

Routes (under ``/api/v{9,10}``)::

    GET|POST            /guilds/{guild_id}/scheduled-events          (?with_user_count)
    GET|PATCH|DELETE    /guilds/{guild_id}/scheduled-events/{event_id}
    GET                 /guilds/{guild_id}/scheduled-events/{event_id}/users
                        (?limit=1-100, before, after, with_member)

The rules live in :mod:`.events`; these handlers only read the request and act as the bot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .rest import RestApi


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true")


def _optional_int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    return int(raw) if raw not in (None, "", "null") else None


def add_scheduled_event_routes(api: RestApi, router: web.UrlDispatcher) -> None:
    """Register the scheduled-event routes on ``router`` with ``api``'s state and helpers."""
    from .rest import json_response, no_content

    state = api.state
    base = "/guilds/{guild_id:\\d+}/scheduled-events"
    one = base + "/{event_id:\\d+}"

    def ids(request: web.Request) -> tuple[int, int]:
        guild = api._guild(request)
        return guild.id, int(request.match_info["event_id"])

    async def list_events(request: web.Request) -> web.Response:
        guild = api._guild(request)
        with_count = _flag(request, "with_user_count")
        events = state.visible_scheduled_events(guild.id, state.bot.id)
        return json_response(
            [state.scheduled_event_payload(e, with_user_count=with_count) for e in events]
        )

    async def create_event(request: web.Request) -> web.Response:
        guild = api._guild(request)
        event = state.create_scheduled_event(
            guild.id, api._dict_body(request), actor_id=state.bot.id
        )
        return json_response(state.scheduled_event_payload(event))

    async def get_event(request: web.Request) -> web.Response:
        guild_id, event_id = ids(request)
        event = state.visible_scheduled_event(guild_id, event_id, state.bot.id)
        with_count = _flag(request, "with_user_count")
        return json_response(state.scheduled_event_payload(event, with_user_count=with_count))

    async def edit_event(request: web.Request) -> web.Response:
        guild_id, event_id = ids(request)
        event = state.edit_scheduled_event(
            guild_id, event_id, api._dict_body(request), actor_id=state.bot.id
        )
        return json_response(state.scheduled_event_payload(event))

    async def delete_event(request: web.Request) -> web.Response:
        guild_id, event_id = ids(request)
        state.delete_scheduled_event(guild_id, event_id, actor_id=state.bot.id)
        return no_content()

    async def event_users(request: web.Request) -> web.Response:
        guild_id, event_id = ids(request)
        event = state.visible_scheduled_event(guild_id, event_id, state.bot.id)
        users = state.scheduled_event_users(
            event,
            limit=int(request.query.get("limit", "100")),
            before=_optional_int(request, "before"),
            after=_optional_int(request, "after"),
            with_member=_flag(request, "with_member"),
        )
        return json_response(users)

    api._add(router, "GET", base, list_events)
    api._add(router, "POST", base, create_event)
    api._add(router, "GET", one, get_event)
    api._add(router, "PATCH", one, edit_event)
    api._add(router, "DELETE", one, delete_event)
    api._add(router, "GET", one + "/users", event_users)
