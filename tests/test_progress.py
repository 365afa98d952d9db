"""The progress line: every phase with its own rate, elapsed time and ETA, on a terminal or in a
log."""

from __future__ import annotations

import io

from tfrecord_lite.pipeline.progress import READ, ProgressLine


def test_a_log_gets_plain_lines_per_phase_with_rates_and_eta() -> None:
    out = io.StringIO()
    line = ProgressLine("plain", out, every=0.0)
    line(READ, 0, 4 << 20)
    line(READ, 1 << 20, 4 << 20)
    line("train", 0, 200)
    line("train", 50, 200)
    line.close()
    shown = out.getvalue().splitlines()
    assert len(shown) == 2 and "\r" not in out.getvalue()
    assert shown[0].startswith("tfrecord-lite convert: reading labels")
    assert "1.0/4.0 MiB (25%)" in shown[0] and "MiB/s" in shown[0] and "ETA" in shown[0]
    assert "50/200 images (25%)" in shown[1] and "img/s" in shown[1] and "elapsed" in shown[1]


def test_a_terminal_gets_one_line_redrawn_per_phase() -> None:
    out = io.StringIO()
    line = ProgressLine("tty", out)
    line("train", 0, 10)
    line("train", 10, 10)
    line("validation", 0, 3)
    line.close()
    text = out.getvalue()
    assert text.count("\n") == 2  # one finished line per phase
    assert "10/10 images (100%)" in text and text.count("\r") >= 3


def test_off_and_unwritable_streams_are_silent() -> None:
    ProgressLine("off")("train", 1, 2)

    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    line = ProgressLine("plain", Broken(), every=0.0)
    line("train", 0, 2)
    line("train", 1, 2)  # does not raise: progress never fails a run
    assert line.mode == "off"
