"""REST rate limiting modelled on Discord's buckets.

Discord limits each bot globally (50 requests per second) and per route "bucket": a bucket is
identified by a hash (the ``X-RateLimit-Bucket`` header) plus the request's major parameter
(channel, guild or webhook id+token). Every limited response carries ``X-RateLimit-Limit``,
``-Remaining``, ``-Reset`` (epoch seconds), ``-Reset-After`` (seconds) and ``-Bucket``; a request
over the limit gets 429 with ``{"message", "retry_after", "global"}``, a ``Retry-After`` header,
``X-RateLimit-Scope`` (``user``, ``global`` or ``shared``) and a ``Via`` header (discord.py treats a
429 without ``Via`` as a Cloudflare ban and does not retry it).

Windows are fixed: a bucket's window opens at its first request and resets ``window`` seconds
later, which is how Discord's headers describe it and what discord.py's pre-emptive waiting
assumes. All timing uses a monotonic clock.

``RateLimitPolicy.discord_like()`` uses this table. The numbers for messages follow Discord's
observed behaviour; the others are plausible values (Discord does not publish them and changes
them without notice), chosen so that bots get throttled where real bots do:

==========================================================  ==========  ===========  =============
Route                                                       Limit       Window       Per
==========================================================  ==========  ===========  =============
(global, every route except interaction callbacks/webhooks)  50          1 s          bot
POST   /channels/{channel_id}/messages                      5           5 s          channel
PATCH  /channels/{channel_id}/messages/{message_id}          5           5 s          channel
DELETE /channels/{channel_id}/messages/{message_id}          5           1 s          channel
GET    /channels/{channel_id}/messages                      5           1 s          channel
PATCH  /channels/{channel_id} changing name or topic        2           600 s        channel
PATCH  /channels/{channel_id} (other edits)                  5           5 s          channel
DELETE /channels/{channel_id}                               5           5 s          channel
PUT    /channels/{channel_id}/permissions/{overwrite_id}    5           5 s          channel
POST   /guilds/{guild_id}/channels                          5           5 s          guild
PATCH  /guilds/{guild_id}/channels                          5           5 s          guild
PATCH  /guilds/{guild_id}/members/{user_id}                 10          10 s         guild
PUT/DELETE /guilds/{guild_id}/members/{user_id}/roles/...   10          10 s         guild
POST   /guilds/{guild_id}/roles                             5           5 s          guild
POST   /users/@me/channels                                  5           5 s          bot
PUT    /applications/{application_id}/commands (and guild)  5           20 s         bot
POST   /webhooks/{application_id}/{token} (followups)        5           2 s          token
PATCH/DELETE /webhooks/{application_id}/{token}/messages/..  5           2 s          token
POST   /interactions/{id}/{token}/callback                  unlimited   -            -
any other route                                             50          1 s          route+major
==========================================================  ==========  ===========  =============

Besides rate limits, Discord bans an IP that makes 10,000 invalid requests (401, 403 and 429
other than ``shared``) within 10 minutes; the policy models that as well (``invalid_limit``):
past it every request gets a Cloudflare-style 429 without ``Via`` and with an HTML body.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

Clock = Callable[[], float]

_WEBHOOK_MAJOR = ("webhook_id", "webhook_token")


@dataclass(frozen=True)
class RouteLimit:
    """One rate-limit rule.

    ``method``/``route`` select requests (``route`` is the route template, e.g.
    ``"/channels/{channel_id}/messages"``; ``"*"`` matches anything). ``major`` names the path
    parameters that split the bucket (Discord's "major parameters"). ``body_keys`` makes a rule
    apply only when the JSON body contains one of those keys (used for the channel-rename limit);
    such a rule is an *extra* bucket on top of the route's normal one.
    """

    method: str
    route: str
    limit: int
    window: float
    major: tuple[str, ...] = ()
    name: str = ""
    body_keys: frozenset[str] = frozenset()
    scope: str = "user"

    def matches(self, method: str, route: str) -> bool:
        methods = self.method.split("|")
        return (self.method == "*" or method in methods) and (
            self.route == "*" or self.route == route
        )

    @property
    def bucket_hash(self) -> str:
        """A stable, Discord-looking bucket id for the rule."""
        key = self.name or f"{self.method} {self.route} {self.body_keys}"
        return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:32]


def _channel(method: str, route: str, limit: int, window: float, **kw: Any) -> RouteLimit:
    return RouteLimit(method, route, limit, window, major=("channel_id",), **kw)


def _guild(method: str, route: str, limit: int, window: float, **kw: Any) -> RouteLimit:
    return RouteLimit(method, route, limit, window, major=("guild_id",), **kw)


@dataclass(frozen=True)
class RateLimitPolicy:
    """Which limits the simulator enforces. Build with :meth:`off`, :meth:`discord_like` or by hand.

    ``routes`` are checked in order; the first ordinary rule that matches is the request's bucket,
    and every matching ``body_keys`` rule adds a sub-limit. ``unlimited`` lists route templates
    that carry no rate-limit headers at all. ``default`` applies to routes no rule matches
    (``None`` = no headers, unlimited). ``global_exempt`` routes do not count toward the global
    limit (Discord exempts interaction endpoints).
    """

    global_limit: int | None = None
    global_window: float = 1.0
    routes: tuple[RouteLimit, ...] = ()
    default: RouteLimit | None = None
    unlimited: frozenset[str] = frozenset()
    global_exempt: frozenset[str] = frozenset()
    invalid_limit: int | None = None
    invalid_window: float = 600.0

    @classmethod
    def off(cls) -> RateLimitPolicy:
        """No limits and no rate-limit headers (discord.py then serialises each route)."""
        return cls()

    @classmethod
    def discord_like(cls, *, time_scale: float = 1.0) -> RateLimitPolicy:
        """The table in this module's docstring. ``time_scale`` < 1 shrinks every window
        (e.g. 0.1 for fast tests) while keeping the counts."""
        s = time_scale
        interaction_routes = frozenset(
            {
                "/interactions/{interaction_id}/{interaction_token}/callback",
                "/webhooks/{webhook_id}/{webhook_token}",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
            }
        )
        routes = (
            _channel("POST", "/channels/{channel_id}/messages", 5, 5 * s, name="msg-create"),
            _channel(
                "PATCH", "/channels/{channel_id}/messages/{message_id}", 5, 5 * s, name="msg-edit"
            ),
            _channel(
                "DELETE", "/channels/{channel_id}/messages/{message_id}", 5, 1 * s, name="msg-del"
            ),
            _channel("GET", "/channels/{channel_id}/messages", 5, 1 * s, name="msg-list"),
            _channel(
                "PATCH",
                "/channels/{channel_id}",
                2,
                600 * s,
                name="channel-rename",
                body_keys=frozenset({"name", "topic"}),
            ),
            _channel("PATCH", "/channels/{channel_id}", 5, 5 * s, name="channel-edit"),
            _channel("DELETE", "/channels/{channel_id}", 5, 5 * s, name="channel-delete"),
            _channel(
                "PUT|DELETE",
                "/channels/{channel_id}/permissions/{overwrite_id}",
                5,
                5 * s,
                name="channel-perms",
            ),
            _guild("POST", "/guilds/{guild_id}/channels", 5, 5 * s, name="channel-create"),
            _guild("PATCH", "/guilds/{guild_id}/channels", 5, 5 * s, name="channel-positions"),
            _guild("PATCH", "/guilds/{guild_id}/members/{user_id}", 10, 10 * s, name="member-edit"),
            _guild(
                "PUT|DELETE",
                "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
                10,
                10 * s,
                name="member-roles",
            ),
            _guild("POST", "/guilds/{guild_id}/roles", 5, 5 * s, name="role-create"),
            RouteLimit("POST", "/users/@me/channels", 5, 5 * s, name="dm-create"),
            RouteLimit(
                "PUT", "/applications/{application_id}/commands", 5, 20 * s, name="cmd-sync"
            ),
            RouteLimit(
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                5,
                20 * s,
                major=("guild_id",),
                name="cmd-sync-guild",
            ),
            RouteLimit(
                "POST",
                "/webhooks/{webhook_id}/{webhook_token}",
                5,
                2 * s,
                major=_WEBHOOK_MAJOR,
                name="followup",
            ),
            RouteLimit(
                "GET|PATCH|DELETE",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                5,
                2 * s,
                major=_WEBHOOK_MAJOR,
                name="followup-edit",
            ),
        )
        return cls(
            global_limit=50,
            global_window=1.0 * s,
            routes=routes,
            default=RouteLimit("*", "*", 50, 1.0 * s, major=("channel_id", "guild_id"), name=""),
            unlimited=frozenset({"/interactions/{interaction_id}/{interaction_token}/callback"}),
            global_exempt=interaction_routes,
            invalid_limit=10_000,
            invalid_window=600.0,
        )

    def with_routes(self, *extra: RouteLimit) -> RateLimitPolicy:
        """A copy with ``extra`` rules checked before the existing ones."""
        return replace(self, routes=tuple(extra) + self.routes)


@dataclass
class _Window:
    limit: int
    window: float
    started: float | None = None
    used: int = 0

    def roll(self, now: float) -> None:
        if self.started is not None and now >= self.started + self.window:
            self.started = None
            self.used = 0

    def reset_after(self, now: float) -> float:
        if self.started is None:
            return self.window
        return max(0.0, self.started + self.window - now)


@dataclass
class RateLimitDecision:
    """What the limiter decided for one request: headers to add and, if limited, the 429."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)
    bucket: str | None = None
    retry_after: float = 0.0
    is_global: bool = False
    scope: str = "user"
    cloudflare_ban: bool = False


class RateLimiter:
    """Applies a :class:`RateLimitPolicy` to requests (single event loop, no locking needed)."""

    def __init__(self, policy: RateLimitPolicy, clock: Clock = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Window] = {}
        self._global: _Window | None = (
            _Window(policy.global_limit, policy.global_window) if policy.global_limit else None
        )
        self._invalid: deque[float] = deque()

    def _rules(
        self, method: str, route: str, body_keys: Iterable[str]
    ) -> tuple[RouteLimit | None, list[RouteLimit]]:
        keys = set(body_keys)
        primary: RouteLimit | None = None
        extra: list[RouteLimit] = []
        for rule in self.policy.routes:
            if not rule.matches(method, route):
                continue
            if rule.body_keys:
                if keys & rule.body_keys:
                    extra.append(rule)
                continue
            if primary is None:
                primary = rule
        if primary is None and route not in self.policy.unlimited:
            primary = self.policy.default
        return primary, extra

    @staticmethod
    def _major(rule: RouteLimit, route: str, params: Mapping[str, str]) -> str:
        parts = [params[m] for m in rule.major if m in params]
        if rule.route == "*":
            return f"{route}:{'+'.join(parts)}"
        return "+".join(parts)

    def _window(self, rule: RouteLimit, route_key: str, params: Mapping[str, str]) -> _Window:
        key = (
            rule.bucket_hash if rule.route != "*" else "default",
            self._major(rule, route_key, params),
        )
        win = self._buckets.get(key)
        if win is None:
            win = self._buckets[key] = _Window(rule.limit, rule.window)
        return win

    def record_invalid(self, status: int, scope: str | None = None) -> None:
        """Count a 401/403/429 toward the invalid-request ban (shared 429s do not count)."""
        if status in (401, 403) or (status == 429 and scope != "shared"):
            self._invalid.append(self._clock())

    def invalid_count(self, window: float | None = None) -> int:
        now = self._clock()
        span = window if window is not None else self.policy.invalid_window
        return sum(1 for t in self._invalid if now - t <= span)

    def check(
        self,
        method: str,
        route: str,
        params: Mapping[str, str],
        body_keys: Iterable[str] = (),
    ) -> RateLimitDecision:
        """Decide on one request and consume its tokens if it is allowed."""
        now = self._clock()
        pol = self.policy
        if pol.invalid_limit is not None:
            while self._invalid and now - self._invalid[0] > pol.invalid_window:
                self._invalid.popleft()
            if len(self._invalid) >= pol.invalid_limit:
                retry = self._invalid[0] + pol.invalid_window - now
                return RateLimitDecision(
                    allowed=False, retry_after=max(retry, 1.0), cloudflare_ban=True
                )

        primary, extra = self._rules(method, route, body_keys)
        windows: list[tuple[RouteLimit, _Window]] = []
        route_key = f"{method} {route}"
        if primary is not None:
            windows.append((primary, self._window(primary, route_key, params)))
        for rule in extra:
            windows.append((rule, self._window(rule, route_key, params)))
        for _, win in windows:
            win.roll(now)

        headers: dict[str, str] = {}
        bucket: str | None = None
        if primary is not None:
            bucket = primary.bucket_hash if primary.route != "*" else _default_hash(route_key)

        exempt = route in pol.global_exempt
        if self._global is not None and not exempt:
            self._global.roll(now)
            if self._global.used >= self._global.limit:
                retry = self._global.reset_after(now)
                headers = {
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                    "Retry-After": str(max(1, math.ceil(retry))),
                }
                return RateLimitDecision(
                    allowed=False,
                    headers=headers,
                    bucket=bucket,
                    retry_after=retry,
                    is_global=True,
                    scope="global",
                )

        for rule, win in windows:
            if win.used >= win.limit:
                retry = win.reset_after(now)
                if rule is primary:
                    headers = self._headers(rule, win, now, bucket or rule.bucket_hash)
                else:
                    headers = (
                        self._headers(primary, windows[0][1], now, bucket or "")
                        if primary is not None
                        else {}
                    )
                headers["Retry-After"] = str(max(1, math.ceil(retry)))
                headers["X-RateLimit-Scope"] = rule.scope
                return RateLimitDecision(
                    allowed=False,
                    headers=headers,
                    bucket=bucket or rule.bucket_hash,
                    retry_after=retry,
                    scope=rule.scope,
                )

        if self._global is not None and not exempt:
            if self._global.started is None:
                self._global.started = now
            self._global.used += 1
        for _, win in windows:
            if win.started is None:
                win.started = now
            win.used += 1
        if primary is not None:
            headers = self._headers(primary, windows[0][1], now, bucket or "")
        return RateLimitDecision(allowed=True, headers=headers, bucket=bucket)

    @staticmethod
    def _headers(rule: RouteLimit, win: _Window, now: float, bucket: str) -> dict[str, str]:
        reset_after = win.reset_after(now)
        return {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(max(0, win.limit - win.used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }


def _default_hash(route: str) -> str:
    return hashlib.sha1(route.encode(), usedforsecurity=False).hexdigest()[:32]
