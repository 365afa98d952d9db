"""Mask tracing (issue 28): our C tracer, our pure-Python tracer and OpenCV's ``findContours``
on the same 1280x720 class masks in one interleaved run, and ``-f json``'s whole-process
throughput with one worker, C tracer against ``TFRECORD_LITE_PURE=1``.

OpenCV is timed as the compat suite calls it (``RETR_CCOMP``, ``CHAIN_APPROX_NONE``), on each
class's plane, the plane made from the class mask inside its timing (our tracer takes the class
mask as it is) but the list of classes given to it.  Ours also joins holes and simplifies, as
``-f json`` writes them.  Masks come from the tests' generator (``tests/mask_cases.py``).

The three tracers race in a child process that imports cv2 before anything else: imported after
this process's Pillow, TensorFlow and the rest, ``findContours`` ran ~5x slower here (3.4 against
0.66 ms a mask) and slowed the C tracer beside it, which made the ratio flatter us.
"""

from __future__ import annotations

import importlib
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench_images import H, W, _convert, _segmentation_job
from timing import Contender, Times, paired_ratio, race

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from mask_cases import realistic_mask

from tfrecord_lite.format._accel import TRACER
from tfrecord_lite.pipeline.formats import polygons

GOAL_RATE = 100.0  # -f json images/s with --workers 1
GOAL_VS_CV2 = 2.0  # the C tracer's time over findContours' at most


def _tracers(masks: list[bytes]) -> list[Contender]:
    import cv2
    import numpy as np

    tracer = importlib.import_module(TRACER)
    planes = [(np.frombuffer(m, np.uint8).reshape(H, W), sorted(set(m) - {0})) for m in masks]

    def c(_: object) -> None:
        for m in masks:
            tracer.region_outlines(m, W, H, polygons.TOLERANCE, False)

    def pure(_: object) -> None:
        for m in masks:
            polygons.region_outlines_py(m, W, H)

    def opencv(_: object) -> None:
        for data, values in planes:
            for value in values:
                cv2.findContours((data == value).view(np.uint8), cv2.RETR_CCOMP,
                                 cv2.CHAIN_APPROX_NONE)

    return [Contender("C tracer", c), Contender("pure tracer", pure),
            Contender("cv2.findContours", opencv)]


def _masks(count: int) -> list[bytes]:
    return [realistic_mask(W, H, seed).tobytes() for seed in range(count)]


def _race_in_child(count: int, repeats: int) -> Times:
    """The tracers' race in a fresh interpreter whose first import is cv2 (see the module's
    docstring); its rounds' times come back as JSON."""
    code = ("import cv2, sys; sys.path.insert(0, sys.argv[1]); import bench_masks; "
            "bench_masks._child(int(sys.argv[2]), int(sys.argv[3]))")
    proc = subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parent),
                           str(count), str(repeats)], capture_output=True, text=True, check=True)
    runs = json.loads(proc.stdout)
    return Times([Contender(name, lambda _: None, times=t) for name, t in runs.items()])


def _child(count: int, repeats: int) -> None:
    times = race(_tracers(_masks(count)), repeats=repeats)
    print(json.dumps(times.runs))


def mask_benchmarks(work: Path, quick: bool = False) -> dict[str, Any]:
    """The tracers' times per mask and ``-f json``'s images/s, each side by side."""
    count = 4 if quick else 10
    times = _race_in_child(count, repeats=3 if quick else 7)
    images = 30 if quick else 150
    job = _segmentation_job(work / f"seg-{images}", images)
    runs: dict[str, list[float]] = {"C": [], "pure": []}
    for _ in range(3):
        for name, pure in (("C", "0"), ("pure", "1")):
            runs[name].append(_convert(job, work / "seg-out", 1, "-f", "json",
                                       env={"TFRECORD_LITE_PURE": pure}))
    return {"masks": count, "times": times, "images": images, "json": runs}


def mask_table(result: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The table's lines, and the goals missed."""
    t, n = result["times"], result["masks"]
    vs_cv2 = t.ratio("C tracer", "cv2.findContours")
    per = {k: f"{v / n * 1e3:.2f} ms" for k, v in t.items()}
    runs, images = result["json"], result["images"]
    rate = {k: images / statistics.median(v) for k, v in runs.items()}
    lines = [
        "| case | C tracer | pure tracer | cv2.findContours | pure / C | C / cv2 | goal | "
        "result |",
        "|---|---|---|---|---|---|---|---|",
        f"| tracing {n} masks 1280x720 (per mask) | {per['C tracer']} | {per['pure tracer']} | "
        f"{per['cv2.findContours']} | {t.ratio('pure tracer', 'C tracer'):.1f}x | "
        f"{vs_cv2:.2f}x | C <= {GOAL_VS_CV2:g}x cv2 | "
        f"{'**pass**' if vs_cv2 <= GOAL_VS_CV2 else '**MISS**'} |",
        f"| `-f json`, {images} segmentation images 1280x720, --workers 1 (whole process) | "
        f"{rate['C']:.0f} img/s | {rate['pure']:.1f} img/s | - | "
        f"{paired_ratio(runs['pure'], runs['C']):.1f}x | - | >= {GOAL_RATE:g} img/s | "
        f"{'**pass**' if rate['C'] >= GOAL_RATE else '**MISS**'} |",
    ]
    misses = []
    if vs_cv2 > GOAL_VS_CV2:
        misses.append(f"C tracer {vs_cv2:.2f}x cv2.findContours > {GOAL_VS_CV2:g}x")
    if rate["C"] < GOAL_RATE:
        misses.append(f"-f json {rate['C']:.0f} img/s < {GOAL_RATE:g} img/s")
    return lines, misses


if __name__ == "__main__":  # this table alone: .venv-tf/bin/python benchmarks/bench_masks.py
    quick = "--quick" in sys.argv
    out = Path(__file__).resolve().parents[1] / "build" / "bench" / "masks"
    table, missed = mask_table(mask_benchmarks(out, quick=quick))
    print("\n".join(table))
    print("Targets missed: " + "; ".join(missed) if missed else "All targets met.")
