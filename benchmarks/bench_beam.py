"""`make bench-full`, Beam part: ``--engine beam`` on the local FnApiRunner against the plain
converter, both with 2 workers, on the synthetic 20,000-image job (benchmarks/synth.py).

    .venv-beam/bin/python benchmarks/bench_beam.py [--images N] [--repeats R]

Runs alternate (plain, beam, plain, beam, ...) so background load weighs on both; only medians
and their ratio are reported, with the peak resident set of the largest single process (the
launcher or one Beam worker; getrusage over the children).  Every beam run's files are checked
byte for byte against the plain run's.  Writes build/bench/beam.md.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import shutil
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_convert import BIN, run_child  # noqa: E402
from synth import average_image_bytes, make_dataset  # noqa: E402

WORK = HERE.parent / "build" / "bench"


def command(ds: Path, out: Path, engine: str, workers: int) -> list[str]:
    return [str(BIN / "tfrecord-lite"), "convert", "-a", str(ds / "output.manifest"),
            "-i", str(ds / "images"), "-o", str(out), "-s", "0.2", "-p", "100",
            "--workers", str(workers), "--engine", engine, "-q"]


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    import tfrecord_lite

    compileall.compile_dir(Path(tfrecord_lite.__file__).parent, quiet=1)
    ds = make_dataset(WORK / f"ds-{args.images}", args.images)
    out = WORK / "out-beam"  # one path for both engines: dataset_info.yaml names it
    times: dict[str, list[float]] = {"plain": [], "beam": []}
    peaks: dict[str, int] = {"plain": 0, "beam": 0}
    reference = None
    for _ in range(args.repeats):
        for engine in ("plain", "beam"):
            shutil.rmtree(out, ignore_errors=True)
            seconds, peak = run_child(command(ds, out, "local" if engine == "plain" else "beam",
                                              args.workers))
            times[engine].append(seconds)
            peaks[engine] = max(peaks[engine], peak)
            files = digest(out)
            reference = reference or files
            if files != reference:
                raise SystemExit(f"{engine}: the files differ from the first run's")
    shutil.rmtree(out, ignore_errors=True)
    plain, beam = (statistics.median(times[k]) for k in ("plain", "beam"))
    mib = 1 << 20
    lines = [
        f"### `--engine beam` (FnApiRunner, {args.workers} worker processes) vs the plain "
        f"converter (`--workers {args.workers}`)",
        "",
        f"{args.images} images of ~{average_image_bytes(ds) // 1024} KiB, -p 100, medians of "
        f"{args.repeats} alternated runs; byte-identical output checked on every run "
        f"({len(reference or {})} files).",
        "",
        "| engine | median wall time | beam / plain | peak RSS (largest process) |",
        "|---|---|---|---|",
        f"| plain `--workers {args.workers}` | {plain:.1f} s | 1.00x | "
        f"{peaks['plain'] / mib:.0f} MiB |",
        f"| `--engine beam` | {beam:.1f} s | {beam / plain:.2f}x | "
        f"{peaks['beam'] / mib:.0f} MiB |",
        "",
        f"all runs (s): plain {', '.join(f'{t:.1f}' for t in times['plain'])}; "
        f"beam {', '.join(f'{t:.1f}' for t in times['beam'])}",
    ]
    text = "\n".join(lines)
    print(text)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "beam.md").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
