"""The simulator's JSON: orjson when it is installed (as discord.py does), else the standard
library.

Why: in the benchmarks the simulator shares the bot's process and event loop, so the time it
spends encoding gateway frames and REST answers and decoding the bot's requests delays the
bot's answers too; on Discord that work is on Discord's servers. orjson does it several times
faster. Both give the same JSON values: keys that are not strings are written as strings, as
:func:`json.dumps` does; orjson writes non-ASCII characters as UTF-8 rather than ``\\u`` escapes,
which a JSON reader cannot tell apart.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["FAST", "dumps", "dumps_bytes", "loads"]

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; kept optional like discord.py's
    orjson = None  # type: ignore[assignment]

#: Whether orjson is in use.
FAST = orjson is not None

if orjson is not None:
    _OPTIONS = orjson.OPT_NON_STR_KEYS

    def dumps_bytes(obj: Any) -> bytes:
        """Compact JSON as UTF-8 bytes."""
        return orjson.dumps(obj, option=_OPTIONS)

    def dumps(obj: Any) -> str:
        """Compact JSON text."""
        return orjson.dumps(obj, option=_OPTIONS).decode("utf-8")

    def loads(data: str | bytes) -> Any:
        """Parse JSON text or UTF-8 bytes; bad input raises ``ValueError``."""
        return orjson.loads(data)

else:  # pragma: no cover

    def dumps_bytes(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    def dumps(obj: Any) -> str:
        return json.dumps(obj, separators=(",", ":"))

    def loads(data: str | bytes) -> Any:
        return json.loads(data)
