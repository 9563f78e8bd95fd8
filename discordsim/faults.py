"""Fault injection: the errors real Discord hands out now and then, on demand and reproducibly.

A :class:`FaultPolicy` lives on every simulator (``sim.faults``) and is asked about each REST call
after authentication and before rate limiting. It can answer, instead of the route:

* **Server errors at random** (:meth:`FaultPolicy.fail_fraction`): a given fraction of calls get
  500 (Discord's JSON body) or 502 (Cloudflare's HTML page), drawn from a seeded RNG so a run can
  be reproduced. Interaction callbacks are excluded unless asked for, since a failed callback is
  an interaction that fails in the user's client rather than something the bot can retry.
* **429 bursts** (:meth:`FaultPolicy.burst_429`): the next ``count`` calls on a route get a 429
  with every header Discord sends (``Retry-After``, ``X-RateLimit-*``, ``X-RateLimit-Scope``) and
  ``Via: 1.1 google``, without which discord.py takes the 429 for a Cloudflare ban and gives up.
* **Denials for a while** (:meth:`FaultPolicy.deny`): calls on a route (optionally only those
  whose path parameters match, e.g. one channel's Create Message) get 403 / 50013 "Missing
  Permissions" until the window ends, as when a moderator takes Send Messages away and gives it
  back.

Gateway faults use the gateway's own controls (``sim.drop_connections()`` for a drop the client
RESUMEs from, ``sim.invalidate_sessions()`` for OP 9 with ``d: false``); the driver records them
here too, so one list (:attr:`FaultPolicy.injected`) says every fault a run survived.

Nothing here changes state: an injected error is answered *instead of* the route, so the call
had no effect, as with a 5xx raised before Discord's API servers did anything.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from . import jsoncodec

_log = logging.getLogger(__name__)

#: The one route Discord exempts from retries: a failed callback is a failed interaction.
CALLBACK_ROUTE = "/interactions/{interaction_id}/{interaction_token}/callback"

_CLOUDFLARE_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    "<center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>"
)


@dataclass(frozen=True)
class InjectedFault:
    """One fault the simulator injected: its kind, where and when (simulator clock)."""

    kind: str
    method: str
    path: str
    status: int
    at: float


@dataclass
class _Burst:
    method: str
    route: str
    remaining: int
    retry_after: float
    params: Mapping[str, str]


@dataclass
class _Denial:
    method: str
    route: str
    until: float
    status: int
    code: int
    message: str
    params: Mapping[str, str]


@dataclass
class FaultPolicy:
    """What to break, and a record of what was broken. See the module docstring."""

    clock: Callable[[], float]
    seed: int = 0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502)
    include_callbacks: bool = False
    #: Methods the random errors apply to (None: every method).
    error_methods: frozenset[str] | None = None
    injected: list[InjectedFault] = field(default_factory=list)
    _rng: random.Random = field(init=False, repr=False)
    _bursts: list[_Burst] = field(default_factory=list, repr=False)
    _denials: list[_Denial] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    # ------------------------------------------------------------------ configuring
    def fail_fraction(
        self,
        rate: float,
        statuses: Iterable[int] = (500, 502),
        *,
        seed: int | None = None,
        include_callbacks: bool = False,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer ``rate`` (0..1) of REST calls with one of ``statuses``, chosen by a seeded RNG."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, not {rate}")
        self.error_rate = rate
        self.error_statuses = tuple(statuses)
        self.include_callbacks = include_callbacks
        self.error_methods = frozenset(m.upper() for m in methods) if methods else None
        if seed is not None:
            self.seed = seed
            self._rng = random.Random(seed)

    def burst_429(
        self,
        method: str,
        route: str,
        count: int = 3,
        *,
        retry_after: float = 0.5,
        params: Mapping[str, int | str] | None = None,
    ) -> None:
        """The next ``count`` calls of ``method route`` (a template such as
        ``/channels/{channel_id}/messages``; ``params`` narrows it) get a retryable 429."""
        self._bursts.append(_Burst(method.upper(), route, count, retry_after, _strs(params)))

    def deny(
        self,
        method: str,
        route: str,
        *,
        seconds: float,
        params: Mapping[str, int | str] | None = None,
        status: int = 403,
        code: int = 50013,
        message: str = "Missing Permissions",
    ) -> None:
        """Answer ``method route`` (narrowed by ``params``) with ``status``/``code`` for
        ``seconds`` of simulator time from now."""
        self._denials.append(
            _Denial(
                method.upper(), route, self.clock() + seconds, status, code, message, _strs(params)
            )
        )

    def clear(self) -> None:
        """Stop injecting anything (the record of what was injected is kept)."""
        self.error_rate = 0.0
        self._bursts.clear()
        self._denials.clear()

    def record(self, kind: str, method: str = "", path: str = "", status: int = 0) -> None:
        """Note a fault injected elsewhere (the gateway's drop and invalid session)."""
        self.injected.append(InjectedFault(kind, method, path, status, self.clock()))
        _log.info("fault injected: %s %s %s %s", kind, method, path, status or "")

    # ------------------------------------------------------------------ reading
    def count(self, kind: str | None = None) -> int:
        """How many faults of ``kind`` (every kind if None) were injected."""
        return sum(1 for f in self.injected if kind is None or f.kind == kind)

    def kinds(self) -> dict[str, int]:
        """Faults injected so far, by kind."""
        out: dict[str, int] = {}
        for fault in self.injected:
            out[fault.kind] = out.get(fault.kind, 0) + 1
        return out

    # ------------------------------------------------------------------ the REST hook
    def answer(
        self, method: str, route: str, path: str, params: Mapping[str, str]
    ) -> web.Response | None:
        """The injected answer for this call, or None to let the route handle it."""
        now = self.clock()
        self._denials = [d for d in self._denials if d.until > now]
        for denial in self._denials:
            if _matches(denial.method, denial.route, denial.params, method, route, params):
                self.record("denied", method, path, denial.status)
                body = {"message": denial.message, "code": denial.code}
                return _json(body, denial.status)
        for burst in self._bursts:
            if burst.remaining > 0 and _matches(
                burst.method, burst.route, burst.params, method, route, params
            ):
                burst.remaining -= 1
                self.record("429", method, path, 429)
                return _too_many(burst.retry_after)
        self._bursts = [b for b in self._bursts if b.remaining > 0]
        if self.error_rate <= 0.0:
            return None
        if route == CALLBACK_ROUTE and not self.include_callbacks:
            return None
        if self.error_methods is not None and method not in self.error_methods:
            return None
        if self._rng.random() >= self.error_rate:
            return None
        status = self._rng.choice(self.error_statuses)
        self.record(str(status), method, path, status)
        if status == 502:
            return web.Response(status=502, text=_CLOUDFLARE_502, content_type="text/html")
        return _json({"message": f"{status}: Internal Server Error", "code": 0}, status)


def _strs(params: Mapping[str, int | str] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (params or {}).items()}


def _matches(
    want_method: str,
    want_route: str,
    want_params: Mapping[str, str],
    method: str,
    route: str,
    params: Mapping[str, str],
) -> bool:
    if want_method not in ("*", method) or want_route not in ("*", route):
        return False
    return all(params.get(k) == v for k, v in want_params.items())


def _json(body: object, status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        body=jsoncodec.dumps_bytes(body),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _too_many(retry_after: float) -> web.Response:
    """A retryable per-route 429, headers as Discord sends them (``Via`` included)."""
    wait = f"{retry_after:.3f}"
    headers = {
        "Retry-After": str(max(1, round(retry_after))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
        "X-RateLimit-Reset-After": wait,
        "X-RateLimit-Bucket": "fault0injected0burst0bucket00000",
        "X-RateLimit-Scope": "user",
        "Via": "1.1 google",
    }
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
    return _json(body, 429, headers)
