"""Payload limits from the Discord docs, reported the way Discord reports them.

Every check adds to one error tree and the whole tree is raised as 400 / 50035 "Invalid Form
Body" at the end, because Discord lists all invalid fields at once. Field codes (such as
``BASE_TYPE_MAX_LENGTH``) and messages mirror real responses so that a bot's error handling and
logs look the same against the simulator as in production.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import ApiError, field_error, invalid_form_body, merge_errors, nest

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_AUTHOR_NAME = 256
MAX_ACTION_ROWS = 5
MAX_ROW_ITEMS = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_SELECT_OPTIONS = 25
MAX_V2_COMPONENTS = 40
MAX_MODAL_TITLE = 45
MAX_MODAL_COMPONENTS = 5
MAX_TEXT_INPUT_LENGTH = 4000
MAX_TEXT_INPUT_LABEL = 45
MAX_AUTOCOMPLETE_CHOICES = 25

_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


def max_len(limit: int) -> dict[str, Any]:
    return field_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def bad_len(low: int, high: int) -> dict[str, Any]:
    return field_error("BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")


def required() -> dict[str, Any]:
    return field_error("BASE_TYPE_REQUIRED", "This field is required")


class Errors:
    """Accumulates a Discord error tree."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: list[str | int], leaf: dict[str, Any]) -> None:
        merge_errors(self.tree, nest(path, leaf))

    def raise_if_any(self) -> None:
        if self.tree:
            raise invalid_form_body(self.tree)

    def __bool__(self) -> bool:
        return bool(self.tree)


def _len(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


def embed_size(embed: Mapping[str, Any]) -> int:
    """Characters that count towards the 6000-per-message embed budget."""
    total = _len(embed.get("title")) + _len(embed.get("description"))
    for fld in embed.get("fields") or []:
        total += _len(fld.get("name")) + _len(fld.get("value"))
    total += _len((embed.get("footer") or {}).get("text"))
    total += _len((embed.get("author") or {}).get("name"))
    return total


def check_embeds(embeds: Any, errs: Errors, prefix: list[str | int]) -> None:
    if not isinstance(embeds, list):
        errs.add(
            [*prefix, "embeds"],
            field_error("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType."),
        )
        return
    if len(embeds) > MAX_EMBEDS:
        errs.add([*prefix, "embeds"], max_len(MAX_EMBEDS))
    total = 0
    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            errs.add(
                [*prefix, "embeds", i],
                field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"),
            )
            continue
        path: list[str | int] = [*prefix, "embeds", i]
        if _len(embed.get("title")) > MAX_EMBED_TITLE:
            errs.add([*path, "title"], max_len(MAX_EMBED_TITLE))
        if _len(embed.get("description")) > MAX_EMBED_DESCRIPTION:
            errs.add([*path, "description"], max_len(MAX_EMBED_DESCRIPTION))
        fields = embed.get("fields") or []
        if len(fields) > MAX_EMBED_FIELDS:
            errs.add([*path, "fields"], max_len(MAX_EMBED_FIELDS))
        for j, fld in enumerate(fields):
            if not fld.get("name"):
                errs.add([*path, "fields", j, "name"], required())
            elif _len(fld.get("name")) > MAX_FIELD_NAME:
                errs.add([*path, "fields", j, "name"], max_len(MAX_FIELD_NAME))
            if not fld.get("value"):
                errs.add([*path, "fields", j, "value"], required())
            elif _len(fld.get("value")) > MAX_FIELD_VALUE:
                errs.add([*path, "fields", j, "value"], max_len(MAX_FIELD_VALUE))
        if _len((embed.get("footer") or {}).get("text")) > MAX_FOOTER:
            errs.add([*path, "footer", "text"], max_len(MAX_FOOTER))
        if _len((embed.get("author") or {}).get("name")) > MAX_AUTHOR_NAME:
            errs.add([*path, "author", "name"], max_len(MAX_AUTHOR_NAME))
        total += embed_size(embed)
    if total > MAX_EMBED_TOTAL:
        errs.add(
            [*prefix, "embeds"],
            field_error(
                "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"
            ),
        )


def _check_custom_id(
    comp: Mapping[str, Any], errs: Errors, path: list[str | int], seen: set[str]
) -> None:
    custom_id = comp.get("custom_id")
    if custom_id is None:
        errs.add([*path, "custom_id"], required())
        return
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
        errs.add(
            [*path, "custom_id"],
            max_len(MAX_CUSTOM_ID)
            if isinstance(custom_id, str) and custom_id
            else bad_len(1, MAX_CUSTOM_ID),
        )
        return
    if custom_id in seen:
        errs.add(
            [*path, "custom_id"],
            field_error(
                "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
            ),
        )
    seen.add(custom_id)


def _check_interactive(
    comp: Mapping[str, Any], errs: Errors, path: list[str | int], seen: set[str]
) -> None:
    ctype = comp.get("type")
    if ctype == 2:  # button
        style = comp.get("style")
        if style == 5:
            if not comp.get("url"):
                errs.add([*path, "url"], required())
        elif style == 6:
            if not comp.get("sku_id"):
                errs.add([*path, "sku_id"], required())
        else:
            _check_custom_id(comp, errs, path, seen)
        if _len(comp.get("label")) > MAX_BUTTON_LABEL:
            errs.add([*path, "label"], max_len(MAX_BUTTON_LABEL))
    elif ctype in (3, 5, 6, 7, 8):  # selects
        _check_custom_id(comp, errs, path, seen)
        if ctype == 3:
            options = comp.get("options") or []
            if not 1 <= len(options) <= MAX_SELECT_OPTIONS:
                errs.add([*path, "options"], bad_len(1, MAX_SELECT_OPTIONS))
        if _len(comp.get("placeholder")) > 150:
            errs.add([*path, "placeholder"], max_len(150))


def check_components(components: Any, errs: Errors, prefix: list[str | int], *, v2: bool) -> None:
    """Message components: legacy action rows, or the Components V2 layout tree."""
    if not isinstance(components, list):
        errs.add(
            [*prefix, "components"],
            field_error("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType."),
        )
        return
    seen: set[str] = set()
    if not v2:
        if len(components) > MAX_ACTION_ROWS:
            errs.add([*prefix, "components"], max_len(MAX_ACTION_ROWS))
        for i, row in enumerate(components):
            path: list[str | int] = [*prefix, "components", i]
            if not isinstance(row, dict) or row.get("type") != 1:
                errs.add(
                    [*path, "type"],
                    field_error("UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,).'),
                )
                continue
            children = row.get("components") or []
            if not 1 <= len(children) <= MAX_ROW_ITEMS:
                errs.add([*path, "components"], bad_len(1, MAX_ROW_ITEMS))
            for j, child in enumerate(children):
                _check_interactive(child, errs, [*path, "components", j], seen)
        return
    total = 0

    def walk(items: list[Any], path: list[str | int]) -> None:
        nonlocal total
        for i, comp in enumerate(items):
            if not isinstance(comp, dict):
                continue
            total += 1
            here: list[str | int] = [*path, i]
            _check_interactive(comp, errs, here, seen)
            if isinstance(comp.get("components"), list):
                walk(comp["components"], [*here, "components"])
            if isinstance(comp.get("accessory"), dict):
                total += 1
                _check_interactive(comp["accessory"], errs, [*here, "accessory"], seen)

    walk(components, [*prefix, "components"])
    if total > MAX_V2_COMPONENTS:
        errs.add([*prefix, "components"], max_len(MAX_V2_COMPONENTS))


def check_allowed_mentions(am: Any, errs: Errors, prefix: list[str | int]) -> None:
    if am is None:
        return
    if not isinstance(am, dict):
        errs.add(
            [*prefix, "allowed_mentions"],
            field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"),
        )
        return
    parse = am.get("parse") or []
    for kind in parse:
        if kind not in ("users", "roles", "everyone"):
            errs.add(
                [*prefix, "allowed_mentions", "parse"],
                field_error("ENUM_TYPE_COERCE", f'Value "{kind}" is not a valid enum value.'),
            )
    for kind in ("users", "roles"):
        if kind in parse and am.get(kind):
            errs.add(
                [*prefix, "allowed_mentions", kind],
                field_error(
                    "SET_TYPE_ALREADY_CONTAINS_VALUE",
                    f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
                ),
            )
        if len(am.get(kind) or []) > 100:
            errs.add([*prefix, "allowed_mentions", kind], max_len(100))


def check_message(
    payload: Mapping[str, Any],
    *,
    has_files: bool = False,
    prefix: list[str | int] | None = None,
    require_body: bool = True,
    existing_nonempty: bool = False,
) -> None:
    """Validate a message create/edit body; raises :class:`ApiError` on failure."""
    pre: list[str | int] = prefix or []
    errs = Errors()
    flags = int(payload.get("flags") or 0)
    v2 = bool(flags & (1 << 15))
    content = payload.get("content")
    if content is not None:
        if not isinstance(content, str):
            errs.add(
                [*pre, "content"],
                field_error("STRING_TYPE_CONVERT", "Could not interpret value as string."),
            )
        elif len(content) > MAX_CONTENT:
            errs.add([*pre, "content"], max_len(MAX_CONTENT))
        elif v2 and content:
            errs.add(
                [*pre, "content"],
                field_error(
                    "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                    "The 'content' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
                ),
            )
    if payload.get("embeds") is not None:
        check_embeds(payload["embeds"], errs, pre)
        if v2 and payload["embeds"]:
            errs.add(
                [*pre, "embeds"],
                field_error(
                    "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                    "The 'embeds' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
                ),
            )
    if payload.get("components") is not None:
        check_components(payload["components"], errs, pre, v2=v2)
    check_allowed_mentions(payload.get("allowed_mentions"), errs, pre)
    errs.raise_if_any()
    if require_body and not existing_nonempty:
        has_body = bool(
            content
            or payload.get("embeds")
            or payload.get("components")
            or payload.get("sticker_ids")
            or payload.get("poll")
            or has_files
        )
        if not has_body:
            from .errors import EMPTY_MESSAGE

            raise ApiError(400, EMPTY_MESSAGE, "Cannot send an empty message")


def _check_modal_child(
    comp: Mapping[str, Any], errs: Errors, path: list[str | int], seen: set[str]
) -> None:
    ctype = comp.get("type")
    if ctype == 4:  # text input
        _check_custom_id(comp, errs, path, seen)
        for key in ("min_length", "max_length"):
            value = comp.get(key)
            if value is not None and not 0 <= int(value) <= MAX_TEXT_INPUT_LENGTH:
                errs.add(
                    [*path, key],
                    field_error(
                        "NUMBER_TYPE_MAX",
                        f"int value should be less than or equal to {MAX_TEXT_INPUT_LENGTH}.",
                    ),
                )
        if _len(comp.get("value")) > MAX_TEXT_INPUT_LENGTH:
            errs.add([*path, "value"], max_len(MAX_TEXT_INPUT_LENGTH))
        if _len(comp.get("placeholder")) > 100:
            errs.add([*path, "placeholder"], max_len(100))
        if _len(comp.get("label")) > MAX_TEXT_INPUT_LABEL:
            errs.add([*path, "label"], max_len(MAX_TEXT_INPUT_LABEL))
    elif ctype in (3, 5, 6, 7, 8, 19, 21, 22, 23):
        _check_custom_id(comp, errs, path, seen)


def check_modal(data: Any, prefix: list[str | int]) -> None:
    """Validate a type 9 (MODAL) callback's ``data``."""
    errs = Errors()
    if not isinstance(data, dict):
        errs.add(prefix, required())
        errs.raise_if_any()
        return
    title = data.get("title")
    if not isinstance(title, str) or not title:
        errs.add([*prefix, "title"], required())
    elif len(title) > MAX_MODAL_TITLE:
        errs.add([*prefix, "title"], max_len(MAX_MODAL_TITLE))
    custom_id = data.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        errs.add([*prefix, "custom_id"], required())
    elif len(custom_id) > MAX_CUSTOM_ID:
        errs.add([*prefix, "custom_id"], max_len(MAX_CUSTOM_ID))
    components = data.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= MAX_MODAL_COMPONENTS:
        errs.add([*prefix, "components"], bad_len(1, MAX_MODAL_COMPONENTS))
        components = components if isinstance(components, list) else []
    seen: set[str] = set()
    for i, comp in enumerate(components):
        path: list[str | int] = [*prefix, "components", i]
        if not isinstance(comp, dict):
            continue
        ctype = comp.get("type")
        if ctype == 1:
            children = comp.get("components") or []
            if len(children) != 1:
                errs.add([*path, "components"], bad_len(1, 1))
            for j, child in enumerate(children):
                _check_modal_child(child, errs, [*path, "components", j], seen)
        elif ctype == 18:  # label
            if _len(comp.get("label")) > MAX_TEXT_INPUT_LABEL:
                errs.add([*path, "label"], max_len(MAX_TEXT_INPUT_LABEL))
            if _len(comp.get("description")) > 100:
                errs.add([*path, "description"], max_len(100))
            inner = comp.get("component")
            if not isinstance(inner, dict):
                errs.add([*path, "component"], required())
            else:
                _check_modal_child(inner, errs, [*path, "component"], seen)
        elif ctype == 10:  # text display
            continue
        else:
            errs.add(
                [*path, "type"],
                field_error(
                    "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1, 10, 18).'
                ),
            )
    errs.raise_if_any()


def check_autocomplete(data: Any, prefix: list[str | int]) -> None:
    errs = Errors()
    choices = (data or {}).get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        errs.add([*prefix, "choices"], required())
    elif len(choices) > MAX_AUTOCOMPLETE_CHOICES:
        errs.add([*prefix, "choices"], max_len(MAX_AUTOCOMPLETE_CHOICES))
    else:
        for i, choice in enumerate(choices):
            if not 1 <= _len(choice.get("name")) <= 100:
                errs.add([*prefix, "choices", i, "name"], bad_len(1, 100))
    errs.raise_if_any()


def check_command(payload: Any, index: int | None, errs: Errors) -> None:
    """Validate one application command definition (bulk overwrite entry)."""
    path: list[str | int] = [] if index is None else [index]
    if not isinstance(payload, dict):
        errs.add(path, required())
        return
    name = payload.get("name")
    ctype = int(payload.get("type", 1))
    if not isinstance(name, str) or not name:
        errs.add([*path, "name"], required())
    elif ctype == 1 and (not _COMMAND_NAME.match(name) or name != name.lower()):
        errs.add(
            [*path, "name"],
            field_error("APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}"),
        )
    elif len(name) > 32:
        errs.add([*path, "name"], bad_len(1, 32))
    if ctype == 1:
        desc = payload.get("description")
        if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
            errs.add([*path, "description"], bad_len(1, 100))
    _check_options(payload.get("options") or [], errs, [*path, "options"])


def _check_options(options: list[Any], errs: Errors, path: list[str | int]) -> None:
    if len(options) > 25:
        errs.add(path, max_len(25))
    seen_optional = False
    for i, opt in enumerate(options):
        here: list[str | int] = [*path, i]
        name = opt.get("name")
        if not isinstance(name, str) or not _COMMAND_NAME.match(name):
            errs.add(
                [*here, "name"],
                field_error(
                    "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}"
                ),
            )
        desc = opt.get("description")
        if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
            errs.add([*here, "description"], bad_len(1, 100))
        if len(opt.get("choices") or []) > 25:
            errs.add([*here, "choices"], max_len(25))
        if opt.get("type") in (1, 2):
            _check_options(opt.get("options") or [], errs, [*here, "options"])
        elif opt.get("required"):
            if seen_optional:
                errs.add(
                    [*here, "required"],
                    field_error(
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    ),
                )
        else:
            seen_optional = True
