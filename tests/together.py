"""Run several calls at the same instant, from threads released together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def at_once(count: int, action: Callable[[int], T], timeout: float = 300) -> list[T]:
    """Run ``action(i)`` for i in 0..count-1 in threads that all start together; return each result,
    or the exception it raised."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = action(i)
        except BaseException as error:  # noqa: BLE001 - handed to the test to show
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results
