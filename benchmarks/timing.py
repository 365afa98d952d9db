"""Timing helpers: medians of interleaved repeats, because this machine is shared and noisy.

Contenders of one case run round-robin (A, B, C, A, B, C, ...) so a burst of background load hits
all of them rather than one, and only medians and ratios are reported.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Setup = Callable[[], object]
Run = Callable[[object], object]


@dataclass
class Contender:
    """One implementation of a case: ``setup()`` (untimed) returns the state ``run`` consumes."""

    name: str
    run: Run
    setup: Setup = lambda: None
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


_OURS = {"tfrecord_lite", "modelpack", "write()", "write_many()", "batches"}  # ours, one race


class Times(dict):
    """Median seconds of each contender, and the paired ratio of two of them."""

    def __init__(self, contenders: list[Contender]) -> None:
        super().__init__({c.name: c.median for c in contenders})
        self.runs = {c.name: c.times for c in contenders}

    @staticmethod
    def pick(times: Times, ours: str) -> Times:
        """The same times with ``ours`` shown as tfrecord_lite and other variants of ours left
        out (the table has one column for us)."""
        keep = [k for k in times if k == ours or k not in _OURS]
        picked = Times([])
        for k in keep:
            name = "tfrecord_lite" if k == ours else k
            picked[name] = times[k]
            picked.runs[name] = times.runs[k]
        return picked

    def ratio(self, slow: str, fast: str) -> float:
        """``paired_ratio`` of two contenders."""
        return paired_ratio(self.runs[slow], self.runs[fast])

    def best_ratio(self, slows: list[str], fast: str) -> float:
        """``paired_ratio`` of ``fast`` against the fastest of ``slows`` in each round."""
        best = [min(times) for times in zip(*(self.runs[s] for s in slows))]
        return paired_ratio(best, self.runs[fast])


def paired_ratio(slow: list[float], fast: list[float]) -> float:
    """The median over rounds of the slow time / the fast time of the same round: a slow spell
    of the machine hits both sides of a pair, so this moves less than a ratio of medians taken
    from different rounds."""
    return statistics.median(s / f for s, f in zip(slow, fast))


def race(contenders: list[Contender], repeats: int, warmup: int = 1) -> Times:
    """Median seconds of each contender over ``repeats`` interleaved rounds (after warm-up)."""
    for round_no in range(warmup + repeats):
        for c in contenders:
            state = c.setup()
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                c.run(state)
                elapsed = time.perf_counter() - start
            finally:
                gc.enable()
            if round_no >= warmup:
                c.times.append(elapsed)
    return Times(contenders)


def fmt_seconds(s: float) -> str:
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} us"


def fmt_rate(nbytes: float, seconds: float) -> str:
    return f"{nbytes / seconds / 1e6:,.0f} MB/s"
