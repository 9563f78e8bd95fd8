"""Memory stays flat over brews: no per-message view piles up in discord.py's view store.

Every persistent button is a DynamicItem (bot/shell/ui/registry.py), so a message's view is
"fully dynamic": discord.py keeps its item classes once, by pattern, and nothing per message.
A plain item (a ``discord.ui.Button`` with a ``bh:`` id) in any of these views would be kept
for ever, one view per message: issue 12 measured two per room, 94 → 105 MiB over six brews.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from discord.ui.view import ViewStore

from bot.core.content import load_content
from bot.db.brews import BrewInfo
from bot.shell.ui.registry import PERSISTENT_ITEMS
from bot.shell.ui.room import room_view
from bot.shell.ui.signup import card_view, perspective_choice_view

ROOM_BUTTONS = (["turn"], ["room"], ["reflect"], ["turn", "room"])


def views_for_brew(brew_id: int, rooms: int) -> list[Any]:
    """The views one brew posts: its sign-up card, a perspective choice, and per room every
    kind of room message at each of a few steps."""
    content = load_content()
    bot = SimpleNamespace(services=SimpleNamespace(content=content))
    info = SimpleNamespace(id=brew_id, perspectives=["carer"])
    views: list[Any] = [
        card_view(bot, info),  # type: ignore[arg-type]
        perspective_choice_view(brew_id, ["carer"]),
    ]
    for room in range(rooms):
        for step in range(3):
            for names in ROOM_BUTTONS:
                view = room_view(
                    content, names, room_id=brew_id * 100 + room, brew_id=brew_id, step=step
                )
                assert view is not None
                views.append(view)
    return views


def store_size(store: ViewStore) -> tuple[int, int, int, int]:
    return (
        len(store._views),
        len(store._synced_message_views),
        len(store._modals),
        len(store.persistent_views),
    )


async def test_the_view_store_does_not_grow_over_many_brews() -> None:
    store = ViewStore(SimpleNamespace())  # type: ignore[arg-type]
    store.add_dynamic_items(*PERSISTENT_ITEMS)  # what BrewBot.setup_hook registers
    patterns = len(store._dynamic_items)
    message_id = 0

    def post_brew(brew_id: int) -> None:
        nonlocal message_id
        for view in views_for_brew(brew_id, rooms=5):
            message_id += 1
            # What discord.py does after sending a message with a view it should track.
            if not view.is_finished() and view.is_dispatchable():
                store.add_view(view, message_id)

    post_brew(1)
    after_first = store_size(store)
    for brew_id in range(2, 102):
        post_brew(brew_id)
    assert message_id > 100 * 60
    assert store_size(store) == after_first == (0, 0, 0, 0)
    assert len(store._dynamic_items) == patterns


def test_every_item_in_a_posted_view_is_a_registered_dynamic_item() -> None:
    for view in views_for_brew(7, rooms=1):
        for item in view.children:
            assert isinstance(item, PERSISTENT_ITEMS), type(item)


def test_brew_info_has_what_the_card_view_reads() -> None:
    # views_for_brew stands in for a BrewInfo: keep it honest about the fields used.
    fields = set(getattr(BrewInfo, "__dataclass_fields__", {}) or BrewInfo.__annotations__)
    assert {"id", "perspectives"} <= fields
