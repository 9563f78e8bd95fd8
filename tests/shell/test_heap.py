"""settle_heap: start-up objects leave the collector's full passes, once per process."""

from __future__ import annotations

import gc

import pytest

from bot.shell import heap


def test_settle_heap_freezes_what_is_alive_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_settled", False)
    alive = [[i] for i in range(1000)]  # tracked objects made since any earlier freeze
    before = gc.get_freeze_count()
    assert heap.settle_heap() is True
    assert gc.get_freeze_count() >= before + len(alive)
    assert heap.settle_heap() is False  # a reconnect's second on_ready does nothing
    assert gc.get_freeze_count() >= before + len(alive)
