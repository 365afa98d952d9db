"""`tfrecord-lite convert` vs the TensorFlow baseline converter, as whole processes.

Wall time includes interpreter start and imports (what a user waits for); peak memory is the
largest resident set in the process tree (getrusage's ru_maxrss over the children: with
--workers it is the biggest single process, not the sum).  Our package's bytecode is compiled
first, as ``pip install`` leaves it: the bench venv holds an editable install, and where
PYTHONDONTWRITEBYTECODE is set (as on these machines) every run would compile it again.
"""

from __future__ import annotations

import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from synth import average_image_bytes, coco_file, make_dataset

from tfrecord_lite import tf_record_iterator
from tfrecord_lite.pipeline.api import auto_workers

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


# A tiny launcher measures the command: a child forked from this (big) benchmark process would
# report the parent's resident set as its own peak, since Linux keeps the pre-exec high-water mark.
_LAUNCHER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "t = time.perf_counter() - t\n"
    "print(rc, t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


# What two processes give on this machine, for reading the ``--workers 2`` column: the same
# pure-Python work (parsing the manifest's JSON lines, the converter's commonest step) done by
# one process, or split between two forked ones; timed from the fork to the last exit.  On a
# shared VM two CPUs are not always two CPUs' worth.
_PARSE_SPLIT = (
    "import json, os, sys, time\n"
    "lines, n = open(sys.argv[1], 'rb').read().splitlines(), int(sys.argv[2])\n"
    "started, pids = time.perf_counter(), []\n"
    "for k in range(n):\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        for _ in range(int(sys.argv[3])):\n"
    "            for line in lines[k::n]:\n"
    "                json.loads(line)\n"
    "        os._exit(0)\n"
    "    pids.append(pid)\n"
    "for pid in pids:\n"
    "    os.waitpid(pid, 0)\n"
    "print(time.perf_counter() - started)\n"
)


def parse_seconds(ds: Path, processes: int, repeats: int = 8) -> float:
    """Seconds to parse the manifest's lines ``repeats`` times over, split between
    ``processes``: on 20,000 lines about as long as a conversion's reading passes, so that a
    slow spell of the machine weighs on both alike."""
    cmd = [sys.executable, "-c", _PARSE_SPLIT, str(ds / "output.manifest"), str(processes),
           str(repeats)]
    return float(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def run_child(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS in bytes of one command; raises with its stderr if it fails."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], stdout=subprocess.PIPE,
                              stderr=err, text=True,
                              env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), check=True)
        rc, elapsed, maxrss_kb = proc.stdout.split()
        if int(rc) != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} exited {rc}:\n"
                               f"{err.read().decode(errors='replace')[-3000:]}")
    return float(elapsed), int(maxrss_kb) * 1024


# -f -> the TensorFlow-based script doing the same job
TF_SCRIPTS = {"tfrecord": "tf_converter.py", "tfod": "tf_tfod_converter.py"}


def annotations(ds: Path, source: str) -> Path:
    """The dataset's input: the manifest, or (``coco``) the same boxes as a COCO file."""
    return coco_file(ds) if source == "coco" else ds / "output.manifest"


def ours_cmd(ds: Path, out: Path, partition: float, workers: int, fmt: str = "tfrecord",
             source: str = "groundtruth") -> list[str]:
    return [str(BIN / "tfrecord-lite"), "convert", "--from", source,
            "-a", str(annotations(ds, source)), "-i", str(ds / "images"), "-o", str(out),
            "-s", "0.2", "-p", str(partition), "--workers", str(workers), "-f", fmt, "-q"]


def tf_cmd(ds: Path, out: Path, partition: float, fmt: str = "tfrecord",
           source: str = "groundtruth") -> list[str]:
    if source == "coco":  # create_coco_tf_record.py's pattern, writing either Example
        return [sys.executable, str(HERE / "tf_coco_converter.py"), "-a", str(coco_file(ds)),
                "-i", str(ds / "images"), "-o", str(out), "-s", "0.2", "-p", str(partition),
                "-f", fmt]
    return [sys.executable, str(HERE / TF_SCRIPTS[fmt]), "-a", str(ds / "output.manifest"),
            "-i", str(ds / "images"), "-o", str(out), "-s", "0.2", "-p", str(partition)]


# The physical floor of a conversion: the images' bytes copied once into one file, in the folder
# the converter writes to.  Started through the same launcher and a shell, from the images'
# folder (short names: 20,000 paths fit any argument limit).
FLOOR = "cat floor"
_CAT = 'mkdir -p "$1" && cd "$2" && exec cat -- * > "$1/one-file"'


def cat_cmd(ds: Path, out: Path) -> list[str]:
    return ["/bin/sh", "-c", _CAT, "sh", str(out), str(ds / "images")]


# Where the floor's gap starts: the same images framed as records (each read whole, CRC-checked
# and written by the converter's own writer, as its write phase does) in one process, with no
# manifest, labels or Examples.  What it takes over the floor no per-line work can win back.
RECORDS_FLOOR = "records floor"
_RECORDS = (
    "import os, sys\n"
    "from tfrecord_lite import TFRecordWriter\n"
    "from tfrecord_lite.pipeline.groundtruth.images import read_file\n"
    "folder, out = sys.argv[1], sys.argv[2]\n"
    "os.makedirs(out, exist_ok=True)\n"
    "with TFRecordWriter(os.path.join(out, 'images.tfrecord'), at_once=True) as w:\n"
    "    for name in sorted(os.listdir(folder)):\n"
    "        w.write(read_file(os.path.join(folder, name)))\n"
)


def records_cmd(ds: Path, out: Path) -> list[str]:
    return [sys.executable, "-c", _RECORDS, str(ds / "images"), str(out)]


def count_records(out: Path) -> int:
    return sum(1 for f in sorted(out.glob("t*_*/*.tfrecord"))  # tfrecord_train/, tfod_train/
               for _ in tf_record_iterator(str(f), verify=False))


def _timed(name: str, cmd: list[str], out: Path, repeats: int) -> dict[str, Any]:
    times, peaks = [], []
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        os.sync()  # the last run's dirty pages are written back now, not during this run
        elapsed, peak = run_child(cmd)
        times.append(elapsed)
        peaks.append(peak)
    return {"name": name, "seconds": statistics.median(times), "peak": max(peaks),
            "records": count_records(out)}


def convert_benchmarks(work: Path, sizes: list[int], memory_lines: int,
                       tf_memory: bool = False, fmt: str = "tfrecord",
                       source: str = "groundtruth") -> list[dict[str, Any]]:
    """One row per dataset size: ours (1 and 2 workers, and what ``--workers auto`` picks) vs
    the TF converter of the same ``-f`` reading the same ``--from``."""
    import tfrecord_lite

    compileall.compile_dir(Path(tfrecord_lite.__file__).parent, quiet=1)
    rows = []
    for count in sizes:
        ds = make_dataset(work / f"ds-{count}", count)
        partition = 4.0 if count < 1000 else 100.0
        repeats = 5  # medians, interleaved
        out = work / "out"
        results: list[dict[str, Any]] = []
        # what the plain command (--workers auto) uses here; timed on its own if not 1 or 2
        default = auto_workers(annotations(ds, source))
        contenders = [(f"tfrecord-lite --workers {n}",
                       ours_cmd(ds, out, partition, n, fmt, source))
                      for n in sorted({1, 2, default})]
        contenders.append(("TF converter", tf_cmd(ds, out, partition, fmt, source)))
        # the floor first in each round, straight before the converter's runs
        contenders[:0] = [(FLOOR, cat_cmd(ds, out)), (RECORDS_FLOOR, records_cmd(ds, out))]
        machine: dict[int, list[float]] = {1: [], 2: []} if default > 1 else {}
        # interleaved so background load is shared
        for _ in range(repeats):
            for name, cmd in contenders:
                results.append(_timed(name, cmd, out, 1))
            for n in machine:
                machine[n].append(parse_seconds(ds, n))
        shutil.rmtree(out, ignore_errors=True)
        merged: dict[str, dict[str, Any]] = {}
        for r in results:
            m = merged.setdefault(r["name"], {"times": [], "peaks": [], "records": r["records"]})
            m["times"].append(r["seconds"])
            m["peaks"].append(r["peak"])
        summary = {k: {"seconds": statistics.median(v["times"]), "peak": max(v["peaks"]),
                       "records": v["records"], "times": v["times"]} for k, v in merged.items()}
        image_bytes = sum(f.stat().st_size for f in (ds / "images").iterdir())
        rows.append({"images": count, "avg_jpeg": average_image_bytes(ds), "results": summary,
                     "image_bytes": image_bytes,
                     "default": f"tfrecord-lite --workers {default}", "machine": machine})

    if memory_lines:
        ds = make_dataset(work / f"ds-{memory_lines}-small", memory_lines, width=96, height=72,
                          hardlink=True)
        out = work / "out"
        summary = {}
        runs = [("tfrecord-lite --workers 1", ours_cmd(ds, out, 100.0, 1)),
                ("tfrecord-lite --workers 2", ours_cmd(ds, out, 100.0, 2))]
        if tf_memory:
            runs.append(("TF converter", tf_cmd(ds, out, 100.0)))
        for name, cmd in runs:
            r = _timed(name, cmd, out, 1)
            summary[name] = {"seconds": r["seconds"], "peak": r["peak"], "records": r["records"]}
        shutil.rmtree(out, ignore_errors=True)
        rows.append({"images": memory_lines, "avg_jpeg": average_image_bytes(ds),
                     "results": summary, "memory_run": True})
    return rows
