"""fewer_collections: the collector's thresholds while ingesting, nested and across threads, restored."""

from __future__ import annotations

import gc
import threading

import pytest

from metrics.core.memory import BULK_THRESHOLDS, fewer_collections


def test_thresholds_are_raised_inside_and_restored_after_nested_blocks_and_errors() -> None:
    before = gc.get_threshold()
    assert before != BULK_THRESHOLDS
    with fewer_collections():
        assert gc.get_threshold() == BULK_THRESHOLDS
        with pytest.raises(RuntimeError), fewer_collections():
            raise RuntimeError("a failed batch")
        assert gc.get_threshold() == BULK_THRESHOLDS  # the outer block still runs
    assert gc.get_threshold() == before


def test_a_thread_leaving_first_does_not_restore_while_another_is_inside() -> None:
    before = gc.get_threshold()
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with fewer_collections():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with fewer_collections():
        thread.start()
        assert inside.wait(5)
    assert gc.get_threshold() == BULK_THRESHOLDS  # the other thread is still ingesting
    leave.set()
    thread.join(5)
    assert gc.get_threshold() == before
