"""Ordered work over forked processes: one piece of code for the reader and the encoder.

``func(state, task)`` is handed the pool's ``state`` (samples, class table, ...): it exists
before the fork, so workers inherit it and nothing large is pickled.  Results come back in task
order, so output never depends on the number of workers, and at most ``2 * workers`` tasks are
ahead of the caller, so a long input is never queued whole.

A small pool of our own rather than ``multiprocessing.Pool``: each worker has a pipe each way
and ignores Ctrl-C, so an interrupt reaches the parent alone, which kills the workers and cleans
up.  ``Pool`` could hang in ``terminate()`` when a worker died holding its queue's lock, printed
each worker's traceback, and respawned workers while shutting down.
"""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, Pipe, wait
from typing import Generic, TypeVar

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


class _Child:
    """One forked worker: tasks go down ``tasks``, ``(ok, value)`` replies come up ``replies``."""

    def __init__(self, pid: int, tasks: Connection, replies: Connection) -> None:
        self.pid = pid
        self.tasks = tasks
        self.replies = replies

    @classmethod
    def fork(cls, siblings: list[_Child], state: object) -> _Child:
        task_r, task_w = Pipe(duplex=False)
        reply_r, reply_w = Pipe(duplex=False)
        # signals wait until the worker has set its own handlers: a Ctrl-C landing in the
        # inherited ones would run the parent's clean-up in the worker
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        pid = os.fork()
        if pid == 0:  # the worker: keep only its own two pipe ends, so EOF means "parent gone"
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
                signal.signal(signal.SIGTERM, signal.SIG_DFL)  # and SIGTERM just ends a worker
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
                for conn in [task_w, reply_r, *(c for s in siblings for c in (s.tasks, s.replies))]:
                    conn.close()
                _serve(task_r, reply_w, state)
            finally:
                os._exit(1)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        task_r.close()
        reply_w.close()
        return cls(pid, task_w, reply_r)

    def stop(self, kill: bool) -> None:
        """Let an idle worker exit, or kill a busy one; either way reap it."""
        if not kill:
            try:
                self.tasks.send(None)
            except OSError:
                kill = True
        if kill:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self.tasks.close()
        self.replies.close()


def _serve(tasks: Connection, replies: Connection, state: object) -> None:
    """A worker's life: run tasks until told to stop or the parent is gone; never returns."""
    code = 0
    try:
        while True:
            try:
                message = tasks.recv()
            except EOFError:
                break
            if message is None:
                break
            func, task = message
            try:
                reply = (True, func(state, task))
            except Exception as exc:  # handed to the parent, raised there
                reply = (False, exc)
            try:
                replies.send(reply)
            except (TypeError, AttributeError, ValueError) as exc:  # an error that won't pickle
                replies.send((False, RuntimeError(f"{reply[1]!r} ({exc})")))
    except BaseException:  # a broken pipe or signal: leave without a word
        code = 1
    os._exit(code)


class Workers(Generic[S]):
    """Forked worker processes that serve several ordered maps in turn (``with Workers(n, state)
    as w: w.map(func, tasks)``), each call ``func(state, task)``.  They are forked on entry; with
    ``n <= 1`` (or no fork on this platform) ``map`` runs here."""

    def __init__(self, workers: int, state: S) -> None:
        self.workers = workers if hasattr(os, "fork") else 1
        self.state = state
        self._children: list[_Child] = []

    def __enter__(self) -> Workers:
        if self.workers > 1:
            # Objects that exist now are moved out of the garbage collector's reach, so that
            # collections in the workers do not write to (and so copy) every page they inherited.
            gc.freeze()
            try:
                for _ in range(self.workers):
                    self._children.append(_Child.fork(self._children, self.state))
            except BaseException:
                self.__exit__(True)
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._children:
            failed = exc[0] is not None
            for child in self._children:
                child.stop(kill=failed)
            self._children = []
            gc.unfreeze()

    def map(self, func: Callable[[S, T], R], tasks: Iterable[T]) -> Iterator[R]:
        """``func(state, task)`` for each task, in order; a task's exception is raised in its
        turn."""
        if not self._children:
            for task in tasks:
                yield func(self.state, task)
            return
        pending = iter(tasks)
        idle = list(self._children)
        busy: dict[Connection, tuple[_Child, int]] = {}
        done: dict[int, tuple[bool, object]] = {}
        sent = returned = 0
        window = 2 * len(self._children)
        try:
            while True:
                while idle and sent - returned < window:
                    task = next(pending, _END)
                    if task is _END:
                        break
                    child = idle.pop()
                    child.tasks.send((func, task))
                    busy[child.replies] = (child, sent)
                    sent += 1
                if returned in done:
                    ok, value = done.pop(returned)
                    returned += 1
                    if not ok:
                        _drain(busy)
                        raise value
                    yield value
                    continue
                if not busy:
                    return
                for conn in wait(list(busy)):
                    child, index = busy.pop(conn)
                    done[index] = child.replies.recv()
                    idle.append(child)
        except GeneratorExit:  # the caller stopped early
            _drain(busy)
            raise


_END = object()


def _drain(busy: dict[Connection, tuple[_Child, int]]) -> None:
    """Wait for the replies still on their way, so they cannot reach the next map."""
    for child, _ in busy.values():
        try:
            child.replies.recv()
        except (EOFError, OSError):
            pass
    busy.clear()


def ordered_map(
    func: Callable[[S, T], R], state: S, tasks: Iterable[T], workers: int
) -> Iterator[R]:
    """``func(state, task)`` for each task, in order; in ``workers`` forked processes when > 1."""
    with Workers(workers, state) as pool:
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
