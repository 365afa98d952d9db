"""The C speedups against the pure-Python path they mirror, side by side in one process.

    .venv/bin/python benchmarks/bench_speedups.py [--rounds 9] [--quick]

Each round times every case on both paths back to back (the order alternating between rounds);
a case's ratio is the median of its per-round ratios (pure time / C time), as CONTRIBUTING.md
asks on these shared, noisy machines.  No TensorFlow: ``make bench`` compares with it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tfrecord_lite.format import example, records
from tfrecord_lite.format._accel import ext, speedups
from tfrecord_lite.pipeline.formats import modelpack


def _records(count: int, size: int, mixed: bool, seed: int = 3) -> list[bytes]:
    """Random records (so the CRC costs are real); ``mixed``: lengths size/2 .. 3*size/2."""
    rng = random.Random(seed)
    blob = rng.randbytes(2 * size + 4096)
    low = size // 2
    return [blob[i % 4096 : i % 4096 + (rng.randint(low, size + low) if mixed else size)]
            for i in range(count)]


def _set_path(compiled: bool) -> None:
    records._walk = ext.walk if compiled else None
    records._frame_small = records._frame_small_c if compiled else records._frame_small_py
    example._decode_plain = ext.decode_plain if compiled else example._decode_plain_py
    example._encode_plain = ext.encode_example if compiled else None
    example._encode_sequence_plain = ext.encode_sequence_example if compiled else None
    modelpack._encode_parts = ext.encode_example_parts if compiled else None


def _examples(count: int) -> list[tuple[str, list[bytes]]]:
    """Serialised Examples: a detection record as the converter writes one (an image, its
    boxes, labels and names), and a small one of a few numbers."""
    rng = random.Random(5)
    detection, small = [], []
    for _ in range(count):
        n = rng.randint(1, 12)
        detection.append(example.encode_example({
            "image/encoded": rng.randbytes(rng.randint(2000, 6000)),
            "image/filename": b"frame-%06d.jpg" % rng.randrange(10**6),
            "image/height": 480, "image/width": 640,
            "image/object/bbox/xmin": example.FloatValues([rng.random() for _ in range(n)]),
            "image/object/bbox/xmax": example.FloatValues([rng.random() for _ in range(n)]),
            "image/object/bbox/ymin": example.FloatValues([rng.random() for _ in range(n)]),
            "image/object/bbox/ymax": example.FloatValues([rng.random() for _ in range(n)]),
            "image/object/class/label": [rng.randrange(80) for _ in range(n)],
            "image/object/class/text": [b"person"] * n,
        }))
        small.append(example.encode_example({
            "label": rng.randrange(1000), "score": example.FloatValues([rng.random()]),
            "id": b"%08d" % rng.randrange(10**8),
        }))
    return [(f"detection Example ({sum(map(len, detection)) // count:,} B)", detection),
            (f"small Example ({sum(map(len, small)) // count} B)", small)]


def _cases(work: Path, quick: bool) -> list[tuple[str, Callable[[], None]]]:
    scale = 4 if quick else 1
    cases: list[tuple[str, Callable[[], None]]] = []
    for size, count in ((100, 50_000), (10_000, 5_000), (100_000, 500)):
        for mixed in (False, True):
            recs = _records(count // scale, size, mixed)
            path = work / f"r-{size}-{mixed}.tfrecord"
            _set_path(False)
            with records.TFRecordWriter(path) as w:
                w.write_many(recs)
            label = f"{size:,} B{' mixed' if mixed else ''} x {len(recs):,}"

            def batches(path: Path = path) -> None:
                for _ in records.tf_record_batches(str(path)):
                    pass

            def iterator(path: Path = path) -> None:
                for _ in records.tf_record_iterator(str(path)):
                    pass

            cases.append((f"read {label}, tf_record_batches", batches))
            cases.append((f"read {label}, tf_record_iterator", iterator))
    for label, blobs in _examples(20_000 // scale):

        def decode(blobs: list[bytes] = blobs) -> None:
            for blob in blobs:
                example.decode_example(blob)

        cases.append((f"decode_example, {label} x {len(blobs):,}", decode))
    cases += _encode_cases(5_000 // scale)
    for size, count in ((100, 50_000), (10_000, 5_000)):
        recs = _records(count // scale, size, False)
        out = work / f"w-{size}.tfrecord"

        def per_write(recs: list[bytes] = recs, out: Path = out) -> None:
            with records.TFRecordWriter(out) as w:
                for r in recs:
                    w.write(r)

        def many(recs: list[bytes] = recs, out: Path = out) -> None:
            with records.TFRecordWriter(out) as w:
                w.write_many(recs)

        cases.append((f"write {size:,} B x {len(recs):,}, write()", per_write))
        cases.append((f"write {size:,} B x {len(recs):,}, write_many()", many))
    return cases


def _encode_cases(count: int) -> list[tuple[str, Callable[[], None]]]:
    """The encoders: bench_io's ModelPack Example (a 60 KB image, 5 boxes) by encode_example
    and by the converter's record builder (its parts around the image), a detection Example of
    typed lists, and a SequenceExample."""
    rng = random.Random(5)
    image = rng.randbytes(60_000)
    objects, bboxes = [0, 1, 2, 1, 0], [rng.random() for _ in range(20)]
    names = [f"image_{i:06d}.jpg" for i in range(count)]
    n = 8
    detection = {
        "image/encoded": rng.randbytes(4000), "image/filename": b"frame-000001.jpg",
        "image/height": 480, "image/width": 640,
        **{f"image/object/bbox/{k}": example.FloatValues([rng.random() for _ in range(n)])
           for k in ("xmin", "xmax", "ymin", "ymax")},
        "image/object/class/label": [rng.randrange(80) for _ in range(n)],
        "image/object/class/text": [b"person"] * n,
    }
    steps = {"frames": [rng.randbytes(500) for _ in range(10)],
             "scores": [example.FloatValues([rng.random()] * 4) for _ in range(10)]}

    def modelpack_generic() -> None:
        for name in names:
            example.encode_example({"image": image, "image_name": name, "width": 640,
                                    "height": 480, "objects": objects, "bboxes": bboxes})

    def modelpack_parts() -> None:
        for name in names:
            modelpack.record_parts(60_000, name, 640, 480, objects, bboxes)

    def detection_example() -> None:
        for _ in range(count):
            example.encode_example(detection)

    def sequence_example() -> None:
        for _ in range(count):
            example.encode_sequence_example({"id": 7, "name": "clip"}, steps)

    return [
        (f"encode_example, ModelPack Example (60 KB image, 5 boxes) x {count:,}",
         modelpack_generic),
        (f"modelpack.record_parts (the converter's), 5 boxes x {count:,}", modelpack_parts),
        (f"encode_example, detection Example of typed lists x {count:,}", detection_example),
        (f"encode_sequence_example, 10 steps x {count:,}", sequence_example),
    ]


def _time(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="a quarter of the records")
    args = parser.parse_args()
    if ext is None:
        print(f"no C path to compare: {speedups}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        cases = _cases(Path(tmp), args.quick)
        ratios: dict[str, list[float]] = {name: [] for name, _ in cases}
        c_times: dict[str, list[float]] = {name: [] for name, _ in cases}
        for r in range(args.rounds):
            for name, fn in cases:
                order = (False, True) if r % 2 else (True, False)
                t = {}
                for compiled in order:
                    _set_path(compiled)
                    t[compiled] = _time(fn)
                ratios[name].append(t[False] / t[True])
                c_times[name].append(t[True])
    _set_path(True)
    print(f"{speedups}; {args.rounds} rounds, ratio = median of per-round pure/C\n")
    print("| case | C, median | pure / C |\n|---|---:|---:|")
    for name, _ in cases:
        print(f"| {name} | {statistics.median(c_times[name]) * 1e3:.1f} ms "
              f"| {statistics.median(ratios[name]):.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
