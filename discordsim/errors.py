"""Discord-shaped API errors.

Every REST failure in the simulator is an :class:`ApiError` carrying the HTTP status, Discord's
JSON error code, the message and, for validation failures, the nested ``errors`` object that
Discord returns (``{"content": {"_errors": [{"code": ..., "message": ...}]}}``). discord.py turns
these bodies into ``HTTPException.code`` / ``.text``, so getting the shape right is what lets bot
code branch on error codes exactly as it would in production.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# JSON error codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes)
GENERAL = 0
UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MEMBER = 10007
UNKNOWN_MESSAGE = 10008
UNKNOWN_OVERWRITE = 10009
UNKNOWN_ROLE = 10011
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
UNKNOWN_APPLICATION_COMMAND = 10063
UNKNOWN_VOICE_STATE = 10065
MAX_GUILD_CHANNELS = 30013
ENTITY_TOO_LARGE = 40005
TARGET_NOT_IN_VOICE = 40032
ALREADY_ACKNOWLEDGED = 40060
MISSING_ACCESS = 50001
CANNOT_EDIT_OTHERS_MESSAGE = 50005
EMPTY_MESSAGE = 50006
CANNOT_DM_USER = 50007
NON_TEXT_CHANNEL = 50008
INVALID_CHANNEL_TYPE = 50024
INVALID_WEBHOOK_TOKEN = 50027
MISSING_PERMISSIONS = 50013
BULK_DELETE_TOO_OLD = 50034
INVALID_FORM_BODY = 50035


class SimulatorError(Exception):
    """Raised by the driver API when a test asks for something impossible.

    Examples: invoking a command that was never registered, clicking a button that is not on the
    message, or acting before a bot is connected. These are mistakes in the test, not API errors.
    """


class ApiError(Exception):
    """A Discord API error response (status + JSON body)."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = dict(errors) if errors else None

    def body(self) -> dict[str, Any]:
        """The JSON body Discord would send."""
        out: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            out["errors"] = self.errors
        return out


def field_error(code: str, message: str) -> dict[str, Any]:
    """One leaf of a Discord validation error tree."""
    return {"_errors": [{"code": code, "message": message}]}


def nest(path: Sequence[str | int], leaf: dict[str, Any]) -> dict[str, Any]:
    """Wrap ``leaf`` into Discord's nested error object along ``path``."""
    out = leaf
    for key in reversed(path):
        out = {str(key): out}
    return out


def merge_errors(target: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two error trees (Discord reports every invalid field at once)."""
    for key, value in extra.items():
        if key == "_errors":
            target.setdefault("_errors", []).extend(value)
        elif key in target and isinstance(target[key], dict) and isinstance(value, dict):
            merge_errors(target[key], value)
        else:
            target[key] = value
    return target


def invalid_form_body(errors: Mapping[str, Any]) -> ApiError:
    """400 / 50035 with the given error tree."""
    return ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", errors)


def missing_permissions() -> ApiError:
    return ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")


def missing_access() -> ApiError:
    return ApiError(403, MISSING_ACCESS, "Missing Access")


def not_found(code: int, what: str) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


def unauthorized() -> ApiError:
    return ApiError(401, GENERAL, "401: Unauthorized")
