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
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Workers:
    """Forked worker processes that serve several ordered maps in turn (``with Workers(n) as w:
    w.map(...)``).  They are forked on entry and see module globals as they were then; with
    ``n <= 1`` (or no fork on this platform) ``map`` runs here."""

    def __init__(self, workers: int) -> None:
        self.workers = workers if "fork" in multiprocessing.get_all_start_methods() else 1
        self._pool = None

    def __enter__(self) -> Workers:
        if self.workers > 1:
            # Objects that exist now are moved out of the garbage collector's reach, so that
            # collections in the workers do not write to (and so copy) every page they inherited.
            gc.freeze()
            self._pool = multiprocessing.get_context("fork").Pool(self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
            gc.unfreeze()

    def map(self, func: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """``func(task)`` for each task, in order."""
        if self._pool is None:
            yield from map(func, tasks)
            return
        pending: deque = deque()
        for task in tasks:
            pending.append(self._pool.apply_async(func, (task,)))
            if len(pending) >= 2 * self.workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def ordered_map(func: Callable[[T], R], tasks: Iterable[T], workers: int) -> Iterator[R]:
    """``func(task)`` for each task, in order; in ``workers`` forked processes when > 1."""
    with Workers(workers) as pool:
        yield from pool.map(func, tasks)


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
