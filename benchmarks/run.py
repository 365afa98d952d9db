"""`make bench`: tfrecord_lite vs TensorFlow vs the `tfrecord` package, side by side in one run.

    .venv-tf/bin/python benchmarks/run.py            # everything: writes benchmarks/RESULTS.md
    .venv-tf/bin/python benchmarks/run.py --full     # + TF's memory on 100,000 lines, S3 fetch
    .venv-tf/bin/python benchmarks/run.py --quick    # smaller sizes, for trying changes
    .venv-tf/bin/python benchmarks/run.py --skip io read example footprint images   # a subset
    .venv-tf/bin/python benchmarks/bench_masks.py    # the mask-tracing table alone

Prints markdown tables (medians and ratios only: the machine is shared and noisy) and writes them
to benchmarks/RESULTS.md when every section ran at its full size (`--quick` and `--skip` runs go
to build/bench/results.md instead; `--out` picks the file).  Run it in `.venv-tf` (TensorFlow and
`tfrecord` installed).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = HERE.parent
WORK = ROOT / "build" / "bench"
RESULTS = HERE / "RESULTS.md"


def _cell(row: dict[str, Any], name: str) -> str:
    from timing import fmt_rate, fmt_seconds

    t = row["times"].get(name)
    if t is None:
        return "-"
    return f"{fmt_seconds(t)} ({fmt_rate(row['bytes'], t)})" if row["bytes"] else fmt_seconds(t)


def _verdict(passed: bool | None) -> str:
    return "-" if passed is None else ("**pass**" if passed else "**MISS**")


def io_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| case | tfrecord_lite | tf.io (TensorFlow) | `tfrecord` pkg | other | "
        "TF time / ours | target | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        other = "-"
        if "plain f.write" in row["times"]:
            other = f"plain f.write {_cell(row, 'plain f.write')}"
        elif "tf.data" in row["times"]:
            other = f"tf.data, batches of 1024: {_cell(row, 'tf.data')}"
        if "vs_page_cache" in row:
            target = f"ours <= 1.25x f.write (is {row['vs_page_cache']:.2f}x)"
        elif row["target"] is not None:
            target = f">= {row['target']:g}x TF"
        else:
            target = "-"
        lines.append(
            f"| {row['case']} | {_cell(row, 'tfrecord_lite')} | {_cell(row, 'tf.io')} | "
            f"{_cell(row, 'tfrecord pkg')} | {other} | {row['ratio']:.2f}x | {target} | "
            f"{_verdict(row['passed'])} |"
        )
    return lines


def floor_table(rows: list[dict[str, Any]]) -> list[str]:
    """The plain command against copying the images' bytes once (``cat images/* > one-file``),
    timed in the same rounds: per round, the converter's time over the floor's."""
    from bench_convert import FLOOR, RECORDS_FLOOR
    from timing import paired_ratio

    lines = [
        "| manifest | image bytes | `cat images/* > one-file` (the floor) | the images framed as "
        "records, no manifest (one process) / floor | plain `convert` (--workers auto) | "
        "convert / floor (median of rounds) | rounds | goal | result |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        r, default = row["results"], row.get("default")
        if FLOOR not in r or default not in r:
            continue
        ratios = [c / f for c, f in zip(r[default]["times"], r[FLOOR]["times"])]
        framed = "-" if RECORDS_FLOOR not in r else \
            f"{paired_ratio(r[RECORDS_FLOOR]['times'], r[FLOOR]['times']):.2f}x"
        lines.append(
            f"| {row['images']:,} images (~{row['avg_jpeg'] / 1000:.0f} KB JPEG) | "
            f"{row['image_bytes'] / 2**20:,.0f} MiB | {r[FLOOR]['seconds']:.2f} s | "
            f"{framed} | {r[default]['seconds']:.2f} s ({default.split(' ', 1)[1]}) | "
            f"{paired_ratio(r[default]['times'], r[FLOOR]['times']):.2f}x | "
            f"{', '.join(f'{x:.2f}' for x in ratios)} | {_floor_goal(row)} |")
    return lines


FLOOR_GOAL = 1.3
"""Issue 28: on 20,000 JPEGs the plain command takes at most 1.3x the floor's time."""


def floor_ratio(row: dict[str, Any]) -> float | None:
    from bench_convert import FLOOR
    from timing import paired_ratio

    r, default = row["results"], row.get("default")
    if FLOOR not in r or default not in r:
        return None
    return paired_ratio(r[default]["times"], r[FLOOR]["times"])


def _floor_goal(row: dict[str, Any]) -> str:
    ratio = floor_ratio(row)
    if row["images"] < 20_000 or ratio is None:
        return "- | -"
    return f"<= {FLOOR_GOAL:g}x | {_verdict(ratio <= FLOOR_GOAL)}"


def tf_misses(conv: list[dict[str, Any]], what: str, goal: float = 10) -> list[str]:
    """Issue 29's goal for a converter table: ours at least ``goal`` times the TF script."""
    from timing import paired_ratio

    out = []
    for row in conv:
        r = row["results"]
        ours = r.get(row["default"])
        if ours and "TF converter" in r:
            ratio = paired_ratio(r["TF converter"]["times"], ours["times"])
            if ratio < goal:
                out.append(f"{what} on {row['images']:,} images {ratio:.1f}x TF < {goal:g}x")
    return out


def _io_rows_json(path: Path, quick: bool) -> int:
    """Run the io, example and read sections here and write their rows (case, ratio) as JSON."""
    import json

    from bench_io import example_benchmarks, read_benchmarks, write_benchmarks

    rows = write_benchmarks(WORK / "io-pure", quick=quick) + example_benchmarks(quick=quick)
    rows += read_benchmarks(WORK / "io-pure", quick=quick)
    path.write_text(json.dumps([{"case": r["case"], "ratio": r["ratio"]} for r in rows]))
    return 0


def _pure_rows(quick: bool) -> list[dict[str, Any]]:
    """The io rows measured in a child process on the pure path, each set beside the ratio the
    pure code had before the C core (``baseline.PURE_BEFORE_C``)."""
    import json
    import subprocess

    from baseline import NOISE, PURE_BEFORE_C

    out = WORK / "pure-rows.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--io-json", str(out)]
    subprocess.run(command + (["--quick"] if quick else []), check=True,
                   env={**os.environ, "TFRECORD_LITE_PURE": "1"})
    rows = json.loads(out.read_text())
    for row in rows:
        before = PURE_BEFORE_C.get(row["case"])
        row["before"] = before
        row["passed"] = None if before is None else row["ratio"] >= NOISE * before
    return rows


def pure_table(pure: list[dict[str, Any]], compiled: list[dict[str, Any]]) -> list[str]:
    from baseline import NOISE

    c_ratio = {r["case"]: r["ratio"] for r in compiled}
    lines = ["| case | pure: TF time / ours | C path, this run | pure, before the C core | "
             f"goal: pure >= {NOISE:g} x before | result |", "|---|---|---|---|---|---|"]
    def x(ratio: float | None) -> str:
        return "-" if ratio is None else f"{ratio:.2f}x"

    for r in pure:
        goal = None if r["before"] is None else NOISE * r["before"]
        lines.append(f"| {r['case']} | {x(r['ratio'])} | {x(c_ratio.get(r['case']))} | "
                     f"{x(r['before'])} | {x(goal)} | {_verdict(r['passed'])} |")
    return lines


def convert_table(rows: list[dict[str, Any]]) -> list[str]:
    from bench_convert import FLOOR, RECORDS_FLOOR
    from timing import paired_ratio

    lines = [
        "| manifest | --workers 1 | --workers 2 | TF converter | TF time / ours (the plain "
        "command: --workers auto) | --workers 2 vs 1 | peak RSS: 1 / 2 workers / TF |",
        "|---|---|---|---|---|---|---|",
    ]
    one, two = "tfrecord-lite --workers 1", "tfrecord-lite --workers 2"
    for row in rows:
        r = row["results"]

        def t(name: str, r: dict[str, Any] = r) -> str:
            return f"{r[name]['seconds']:.2f} s" if name in r else "-"

        def m(name: str, r: dict[str, Any] = r) -> str:
            return f"{r[name]['peak'] / 2**20:,.0f} MB" if name in r else "-"

        def paired(slow: str, fast: str, r: dict[str, Any] = r) -> float:
            if "times" not in r[slow] or "times" not in r[fast]:
                return r[slow]["seconds"] / r[fast]["seconds"]
            return paired_ratio(r[slow]["times"], r[fast]["times"])

        default = row.get("default")
        ratio = "-"
        if "TF converter" in r and default in r:
            ratio = f"{paired('TF converter', default):.1f}x ({default.split(' ', 1)[1]})"
        scaling = f"{paired(one, two):.2f}x" if one in r and two in r else "-"
        what = f"{row['images']:,} images (~{row['avg_jpeg'] / 1000:.0f} KB JPEG)"
        if row.get("memory_run"):
            what = f"{row['images']:,} lines (small {row['avg_jpeg'] / 1000:.0f} KB JPEGs)"
        lines.append(f"| {what} | {t(one)} | {t(two)} | {t('TF converter')} | {ratio} | "
                     f"{scaling} | {m(one)} / {m(two)} / {m('TF converter')} |")
        counts = {v["records"] for k, v in r.items() if k not in (FLOOR, RECORDS_FLOOR)}
        if counts != {row["images"]}:
            lines.append(f"| (record counts differ: {sorted(counts)}) | | | | | | |")
    for row in rows:
        if row.get("machine"):
            machine = [a / b for a, b in zip(row["machine"][1], row["machine"][2])]
            r = row["results"]
            ours = [a / b for a, b in zip(r[one]["times"], r[two]["times"])]
            # per round: the converter's speed-up over the machine's, so a slow spell of the
            # shared machine is divided out
            share = statistics.median(o / m for o, m in zip(ours, machine))
            lines.append("")
            lines.append(
                f"For reference, what two processes give on this machine in the same rounds "
                f"({row['images']:,} images): parsing the manifest's JSON split between two "
                f"processes takes {statistics.median(machine):.2f}x less time than in one "
                f"(rounds: {', '.join(f'{r:.2f}' for r in machine)}; the converter's: "
                f"{', '.join(f'{r:.2f}' for r in ours)}). Round by round, `--workers 2` gets "
                f"{share:.2f} of the machine's two-process speed-up."
            )
    return lines


def footprint_table(size: dict[str, Any], start: dict[str, float]) -> list[str]:
    mb = 1e6
    return [
        "| measure | value | goal | result |",
        "|---|---|---|---|",
        f"| installed size, tfrecord_lite + its dependencies (pip install --target) | "
        f"{size['total'] / mb:.1f} MB (ours alone {size['ours'] / mb:.2f} MB, wheel "
        f"{size['wheel'] / 1e3:.0f} KB) | <= 30 MB | {_verdict(size['total'] <= 30 * mb)} |",
        f"| tensorflow package alone, for scale | {size['tensorflow'] / mb:,.0f} MB | - | - |",
        f"| `tfrecord-lite --help` wall time (median) | {start['help']:.3f} s (bare `python -c "
        f"pass`: {start['python']:.3f} s) | < 0.2 s | {_verdict(start['help'] < 0.2)} |",
        f"| `python -c 'import tfrecord_lite'` (median) | {start['import_ours']:.3f} s | - | - |",
        f"| `python -c 'import tensorflow'` (median of 3) | {start['import_tf']:.2f} s | - | - |",
    ]


def s3_table(quick: bool) -> list[str]:
    """bench_s3.py in the dev venv, which has boto3 and moto (.venv-tf has neither)."""
    import json
    import subprocess

    from bench_s3 import table

    python = ROOT / ".venv" / "bin" / "python"
    print("fetching images from S3 with 1, 8, 32 at once ...", file=sys.stderr, flush=True)
    proc = subprocess.run([str(python), str(HERE / "bench_s3.py"), "--json", "--images",
                           "100" if quick else "300"], capture_output=True, text=True)
    if proc.returncode != 0:
        return [f"bench_s3.py failed: {proc.stderr.strip().splitlines()[-1:]}"]
    return table(json.loads(proc.stdout))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help="also the TF converter's peak memory on the 100,000-line manifest "
                        "and fetching images from S3 (bench_s3.py in .venv)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer images")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["io", "read", "example", "pure", "footprint", "convert",
                                 "tfod", "coco", "images", "masks", "s3"],
                        help="sections to leave out")
    parser.add_argument("--memory-lines", type=int, default=100_000,
                        help="lines of the manifest whose conversion's peak memory is measured")
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown file to write (default: benchmarks/RESULTS.md for a "
                        "complete run, else build/bench/results.md)")
    parser.add_argument("--io-json", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.io_json:  # the pure section's child: the io rows of this process's path, as JSON
        return _io_rows_json(args.io_json, quick=args.quick)
    complete = not args.quick and not args.skip and args.memory_lines == 100_000
    results = args.out or (RESULTS if complete else WORK / "results.md")

    import tensorflow as tf

    import tfrecord_lite

    started = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    command = " ".join(["benchmarks/run.py", *sys.argv[1:]])
    try:  # by its metadata: importing it beside TensorFlow clashes in protobuf's pool
        tfrecord_version = importlib.metadata.version("tfrecord")
    except importlib.metadata.PackageNotFoundError:
        tfrecord_version = "not installed"
    out: list[str] = [
        "# Benchmarks",
        "",
        f"Written by `{command}` (`make bench` runs it without arguments) on "
        f"{time.strftime('%Y-%m-%d %H:%M')}: "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"tfrecord_lite {tfrecord_lite.__version__}, TensorFlow {tf.__version__}, the "
        f"`tfrecord` package {tfrecord_version}.",
        "",
        "How to read it: contenders run side by side in one run, interleaved (A B C A B C ...); "
        "times are medians of those rounds, and a ratio is the median of the per-round ratios "
        "(each round's times were taken back to back, so a slow spell of the machine hits both "
        "sides). \"TF time / ours\" above 1 means tfrecord_lite is faster. These machines are "
        "shared and noisy: read the ratios, not the absolute times, which move from one run to "
        "the next.",
        "",
    ]

    def emit(lines: list[str]) -> None:
        print(f"[{time.perf_counter() - started:.0f} s]", file=sys.stderr, flush=True)
        out.extend(lines)
        out.append("")
        print("\n".join(lines), flush=True)
        print(flush=True)

    from bench_io import example_benchmarks, read_benchmarks, write_benchmarks

    rows: list[dict[str, Any]] = []
    if "io" not in args.skip:
        print("writing records ...", file=sys.stderr, flush=True)
        rows += write_benchmarks(WORK / "io", quick=args.quick)
    if "example" not in args.skip:
        print("building Examples ...", file=sys.stderr, flush=True)
        rows += example_benchmarks(quick=args.quick)
    if "read" not in args.skip:
        print("reading records ...", file=sys.stderr, flush=True)
        rows += read_benchmarks(WORK / "io", quick=args.quick)
    if rows:
        emit(["## Records and Examples", "", *io_table(rows)])
    misses = [r["case"] for r in rows if r["passed"] is False]

    if "pure" not in args.skip:
        print("the same on the pure path (TFRECORD_LITE_PURE=1) ...", file=sys.stderr, flush=True)
        pure = _pure_rows(quick=args.quick)
        emit(["## The pure-Python path (`TFRECORD_LITE_PURE=1`)", "",
              "The same cases in a second process that runs the pure-Python reference (an "
              "install without a compiler runs it), against TensorFlow in that process's own "
              "rounds. Before: the ratio the pure code had before the C core existed "
              "(`benchmarks/baseline.py`); the goal is no slower than that.", "",
              *pure_table(pure, rows)])
        misses += [f"pure path: {r['case']}" for r in pure if r.get("passed") is False]

    if "footprint" not in args.skip:
        from footprint import installed_size, startup_times

        print("measuring footprint ...", file=sys.stderr, flush=True)
        size, start = installed_size(), startup_times()
        emit(["## Footprint", "", *footprint_table(size, start)])
        if size["total"] > 30e6:
            misses.append(f"installed size {size['total'] / 1e6:.1f} MB > 30 MB")
        if start["help"] >= 0.2:
            misses.append(f"tfrecord-lite --help {start['help']:.3f} s >= 0.2 s")

    if "convert" not in args.skip:
        from bench_convert import convert_benchmarks

        sizes = [60] if args.quick else [240, 20_000]
        memory_lines = 10_000 if args.quick else args.memory_lines
        print(f"converting {sizes} images, {memory_lines:,}-line manifest for memory ...",
              file=sys.stderr, flush=True)
        conv = convert_benchmarks(WORK, sizes, memory_lines, tf_memory=args.full)
        emit(["## Converter (whole process: start-up, imports, reading, writing)", "",
              *convert_table(conv)])
        emit(["## Converter against the floor: the image bytes copied once", "",
              "`cat images/* > one-file` in the output's folder, started like the converter "
              "(a shell through the same launcher), first in each of the converter's rounds. "
              "The plain command is what `tfrecord-lite convert` picks with `--workers auto`. "
              "Beside the floor, in the same rounds: the same images framed as records by the "
              "converter's own writer (each read whole, CRC-checked, written) in one process "
              "with no manifest, labels or Examples, the part of the gap that no per-line "
              "work causes.",
              "", *floor_table(conv)])
        for row in conv:
            ratio = floor_ratio(row)
            if row["images"] >= 20_000 and ratio is not None and ratio > FLOOR_GOAL:
                misses.append(f"convert {row['images']:,} images {ratio:.2f}x the floor "
                              f"> {FLOOR_GOAL:g}x")

    if "tfod" not in args.skip:
        from bench_convert import convert_benchmarks

        sizes = [60] if args.quick else [240, 20_000]
        print(f"converting {sizes} images with -f tfod ...", file=sys.stderr, flush=True)
        conv = convert_benchmarks(WORK, sizes, 0, fmt="tfod")
        emit(["## Converter, -f tfod (TF Object Detection records) against a TF-based script",
              "", "The TF converter is `benchmarks/tf_tfod_converter.py`: the same keys written "
              "the way the OD API's `create_coco_tf_record.py` writes them (PIL, hashlib, "
              "`tf.train.Example`, `tf.io.TFRecordWriter`).", "", *convert_table(conv)])
        misses += tf_misses(conv, "-f tfod")

    if "coco" not in args.skip:
        from bench_convert import convert_benchmarks

        sizes = [60] if args.quick else [240, 20_000]
        for fmt in ("tfrecord", "tfod"):
            print(f"converting {sizes} images from COCO with -f {fmt} ...", file=sys.stderr,
                  flush=True)
            conv = convert_benchmarks(WORK, sizes, 0, fmt=fmt, source="coco")
            emit([f"## Converter, COCO -> -f {fmt} against a TF-based script", "",
                  "The input is the same boxes as one COCO instances file (`--from coco`). The "
                  "TF converter is `benchmarks/tf_coco_converter.py`: `create_coco_tf_record."
                  "py`'s loop (the JSON loaded whole, each image read with `tf.io.gfile`, PIL, "
                  "hashlib, `tf.train.Example`, `tf.io.TFRecordWriter`) writing "
                  f"{'the OD API keys' if fmt == 'tfod' else 'ModelPack features'}.", "",
                  *convert_table(conv)])
            misses += tf_misses(conv, f"COCO -> -f {fmt}")

    if "images" not in args.skip:
        from bench_images import image_benchmarks, image_table

        print("converting segmentation masks and grey JPEGs ...", file=sys.stderr, flush=True)
        emit(["## Converter image paths (polygons, re-encoding)", "",
              *image_table(image_benchmarks(WORK / "images", quick=args.quick))])

    if "masks" not in args.skip:
        from bench_masks import mask_benchmarks, mask_table

        print("tracing masks: C, pure, cv2.findContours; -f json C and pure ...",
              file=sys.stderr, flush=True)
        table, missed = mask_table(mask_benchmarks(WORK / "masks", quick=args.quick))
        emit(["## Mask tracing (C tracer, pure tracer, OpenCV's findContours)", "",
              "The same 1280x720 masks, interleaved, in a child process that imports cv2 "
              "first (after Pillow and TensorFlow it ran ~5x slower); OpenCV (`RETR_CCOMP`, "
              "`CHAIN_APPROX_NONE`, as the compat suite) on each class's plane, made inside "
              "its time; ours also joins holes and simplifies. `-f json`: whole processes, "
              "the C tracer against `TFRECORD_LITE_PURE=1`, medians of 3.", "", *table])
        misses += missed

    if args.full and "s3" not in args.skip:
        emit(["## Fetching images from S3 (boto3 against moto's server, in .venv)", "",
              *s3_table(quick=args.quick)])

    summary = f"Targets missed: {'; '.join(misses)}." if misses else "All targets met."
    emit([summary, f"(benchmark run took {time.perf_counter() - started:.0f} s)"])
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text("\n".join(out), encoding="utf-8")
    print(f"wrote {results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
