"""Ordered work over forked processes: one piece of code for the reader and the encoder.

``func`` finds its shared state (samples, class table, ...) in module globals set before the
call; forked workers inherit them, so nothing large is pickled.  Results come back in task order,
so output never depends on the number of workers, and at most ``2 * workers`` tasks are in
flight, so a long input is never queued whole.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Callable, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(func: Callable[[T], R], tasks: Iterable[T], workers: int) -> Iterator[R]:
    """``func(task)`` for each task, in order; in ``workers`` forked processes when > 1."""
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from map(func, tasks)
        return
    # Objects that exist now are moved out of the garbage collector's reach, so that collections
    # in the workers do not write to (and so copy) every page of memory they inherited.
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pending: deque = deque()
            for task in tasks:
                pending.append(pool.apply_async(func, (task,)))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()
    finally:
        gc.unfreeze()


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
