"""Progress of a conversion: the callback the stages report to, and the line the CLI shows.

Stages call ``progress(phase, done, total)``; a phase counts bytes of the manifest or images,
as ``UNITS`` says.  ``ProgressLine`` shows each phase with its own rate, elapsed time and ETA:
redrawn in place on a terminal, or as a plain line every few seconds in a log (CI, ``docker
logs``), so a long run is never silent.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[str, int, int], None]  # (phase, done, total)

SCAN = "scanning manifest"  # first pass: label types and class maps, in bytes of the manifest
READ = "reading labels"  # second pass: lines, images found, headers read, in bytes too
UNITS = {SCAN: "bytes", READ: "bytes"}  # every other phase counts images
MIB = 1 << 20


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else \
        f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class ProgressLine:
    """``mode``: "tty" (one line redrawn), "plain" (a line every ``every`` seconds), "off"."""

    def __init__(self, mode: str, stream: TextIO | None = None, every: float = 5.0) -> None:
        self.mode = mode
        self.stream = stream or sys.stderr
        self.every = every if mode == "plain" else 0.1
        self.started = time.monotonic()
        self.phase: str | None = None
        self.phase_start = self.last = 0.0
        self.shown = (0, 0)

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.mode == "off":
            return
        now = time.monotonic()
        if phase != self.phase:
            self._end_phase()
            self.phase, self.phase_start, self.last = phase, now, now
            if self.mode == "tty":
                self._show(now, done, total)
            return
        finished = total and done >= total
        if now - self.last >= self.every or (finished and self.mode == "tty"):
            self.last = now
            self._show(now, done, total)

    def close(self) -> None:
        """End the display (the last phase's line stays)."""
        self._end_phase()
        self.phase = None

    def _end_phase(self) -> None:
        if self.phase is not None and self.mode == "tty":
            self.stream.write("\n")
            self.stream.flush()

    def _show(self, now: float, done: int, total: int) -> None:
        self.shown = (done, total)
        try:
            self.stream.write(("\r" if self.mode == "tty" else "") + self.text(now, done, total)
                              + (" " if self.mode == "tty" else "\n"))
            self.stream.flush()
        except (OSError, ValueError):
            self.mode = "off"  # progress is never worth failing a run for

    def text(self, now: float, done: int, total: int) -> str:
        phase = self.phase or ""
        bytes_ = UNITS.get(phase) == "bytes"
        elapsed = now - self.phase_start
        rate = done / elapsed if elapsed > 0 else 0.0

        def amount(n: float) -> str:
            return f"{n / MIB:,.1f}" if bytes_ else f"{n:,.0f}"

        unit = "MiB" if bytes_ else "images"
        parts = [f"{phase:<18}"]
        if total:
            width = 24
            fill = min(width, int(width * done / total))
            parts.append(f"[{'#' * fill}{'.' * (width - fill)}] {amount(done)}/{amount(total)} "
                         f"{unit} ({100 * done / total:.0f}%)")
        else:
            parts.append(f"{amount(done)} {unit}")
        parts.append(f"{rate / MIB:,.1f} MiB/s" if bytes_ else f"{rate:,.0f} img/s")
        parts.append(f"elapsed {_clock(now - self.started)}")
        if total and rate > 0 and done < total:
            parts.append(f"ETA {_clock((total - done) / rate)}")
        prefix = "" if self.mode == "tty" else "tfrecord-lite convert: "
        return prefix + "  ".join(parts)
