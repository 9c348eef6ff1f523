"""A load raises the collector's youngest threshold while it runs, and the last load to end puts it back."""

from __future__ import annotations

import gc
import threading

from core.ingest.gc_tuning import YOUNG_THRESHOLD, fewer_collections


def test_the_threshold_is_raised_during_a_load_and_restored_after() -> None:
    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold() == (max(before[0], YOUNG_THRESHOLD), before[1], before[2])
    assert gc.get_threshold() == before


def test_overlapping_loads_restore_the_threshold_only_when_the_last_ends() -> None:
    before = gc.get_threshold()
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[tuple[int, int, int]] = []

    def other_load() -> None:
        with fewer_collections():
            first_in.set()
            second_done.wait(10)
        seen.append(gc.get_threshold())

    thread = threading.Thread(target=other_load)
    thread.start()
    first_in.wait(10)
    with fewer_collections():
        pass
    assert gc.get_threshold()[0] >= YOUNG_THRESHOLD  # the other load still runs
    second_done.set()
    thread.join(10)
    assert seen == [before] and gc.get_threshold() == before


def test_a_load_that_fails_puts_the_threshold_back() -> None:
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise RuntimeError("the load failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before
