"""Raw TFRecord writing/reading and Example building: tfrecord_lite vs TensorFlow vs `tfrecord`.

Each function returns table rows (dicts) for run.py; times are medians of interleaved repeats.
"""

from __future__ import annotations

import os
import random
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tensorflow as tf
from google.protobuf import descriptor_pool
from timing import Contender, Times, race

from tfrecord_lite import (
    TFRecordWriter,
    decode_example,
    encode_example,
    tf_record_batches,
    tf_record_iterator,
)
from tfrecord_lite.pipeline.formats.modelpack import encode_record

Row = dict[str, Any]


def _import_tfrecord_pkg() -> Any:
    """Import the `tfrecord` package next to TensorFlow.

    Its example_pb2 registers `tensorflow.Example` etc. in protobuf's default pool under another
    file name, so after `import tensorflow` a plain `import tfrecord` fails ("duplicate symbol
    'tensorflow.BytesList'").  Giving it a private pool while it loads lets both live here.
    """
    default = descriptor_pool.Default
    private = descriptor_pool.DescriptorPool()
    descriptor_pool.Default = lambda: private
    try:
        import tfrecord
        import tfrecord.reader
    finally:
        descriptor_pool.Default = default
    return tfrecord


tfrecord_pkg = _import_tfrecord_pkg()
pkg_iterator = tfrecord_pkg.reader.tfrecord_iterator


def _records(count: int, size: int, seed: int = 0, mixed: bool = False) -> list[bytes]:
    """Distinct random records (random, so CRC and compression costs are real); ``mixed``:
    lengths spread evenly over size/2 .. 3*size/2, as records of real data vary."""
    rng = random.Random(seed)
    blob = rng.randbytes(2 * size + 4096)
    if not mixed:
        return [blob[i % 4096 : i % 4096 + size] for i in range(count)]
    low = size // 2
    return [blob[i % 4096 : i % 4096 + rng.randint(low, size + low)] for i in range(count)]


def _fresh(path: Path) -> Callable[[], Path]:
    def setup() -> Path:
        if path.exists():
            path.unlink()
        return path

    return setup


def _per_write(records: list[bytes], writer_class: Any = TFRecordWriter) -> Callable[[Any], None]:
    """One write() call per record, with our writer or TensorFlow's (the same loop for both)."""

    def run(path: Any) -> None:
        writer = writer_class(str(path))
        write = writer.write
        for record in records:
            write(record)
        writer.close()

    return run


def _ours_write_many(records: list[bytes]) -> Callable[[Any], None]:
    def run(path: Any) -> None:
        writer = TFRecordWriter(str(path))
        writer.write_many(records)
        writer.close()

    return run


def _tf_write(records: list[bytes]) -> Callable[[Any], None]:
    return _per_write(records, tf.io.TFRecordWriter)


def _pkg_write(records: list[bytes]) -> Callable[[Any], None]:
    """The `tfrecord` package's own framing (its write() only takes dicts, made into Examples)."""

    def run(path: Any) -> None:
        writer = tfrecord_pkg.TFRecordWriter(str(path))
        out, crc, pack = writer.file.write, writer.masked_crc, struct.Struct("<Q").pack
        for record in records:
            length = pack(len(record))
            out(length)
            out(crc(length))
            out(record)
            out(crc(record))
        writer.close()

    return run


def _plain_write(records: list[bytes]) -> Callable[[Any], None]:
    """The page-cache baseline: the same payload with bare f.write calls, no framing or CRC."""

    def run(path: Any) -> None:
        with open(path, "wb") as f:
            write = f.write
            for record in records:
                write(record)

    return run


def _row(case: str, times: Times, nbytes: int, target: float | None,
         baseline: str = "tf.io", ours: str = "tfrecord_lite") -> Row:
    """A table row; the ratio is paired (round by round, see ``Times.ratio``)."""
    ratio = times.ratio(baseline, ours)
    times = Times.pick(times, ours)
    return {
        "case": case,
        "times": times,
        "bytes": nbytes,
        "ratio": ratio,
        "baseline": baseline,
        "target": target,
        "passed": None if target is None else ratio >= target,
    }


def write_benchmarks(work: Path, quick: bool = False) -> list[Row]:
    work.mkdir(parents=True, exist_ok=True)
    path = work / "bench.tfrecord"
    fresh = _fresh(path)
    scale = 4 if quick else 1
    rows: list[Row] = []

    # 100 B records: one write() call each, and write_many (TF has no batch call: both are
    # measured against its per-record loop, in the same rounds)
    small = _records(200_000 // scale, 100)
    nbytes = sum(map(len, small))
    times = race([
        Contender("write()", _per_write(small), fresh),
        Contender("write_many()", _ours_write_many(small), fresh),
        Contender("tf.io", _tf_write(small), fresh),
        Contender("tfrecord pkg", _pkg_write(small), fresh),
    ], repeats=9)
    rows.append(_row(f"write 100 B x {len(small):,}, write() per record", times, nbytes, 1.0,
                     ours="write()"))
    rows.append(_row(f"write 100 B x {len(small):,}, write_many()", times, nbytes, 2.0,
                     ours="write_many()"))

    # 10 KB records
    mid = _records(6_000 // scale, 10_000, seed=1)
    times = race([
        Contender("tfrecord_lite", _per_write(mid), fresh),
        Contender("tf.io", _tf_write(mid), fresh),
        Contender("tfrecord pkg", _pkg_write(mid), fresh),
    ], repeats=9)
    rows.append(_row(f"write 10 KB x {len(mid):,}", times, sum(map(len, mid)), 2.5))

    # 100 KB and 1 MB records: bounded by memory bandwidth, compared with bare f.write
    for size, count in ((100_000, 1_000 // scale), (1_000_000, 100 // scale)):
        big = _records(count, size, seed=2)
        times = race([
            Contender("tfrecord_lite", _per_write(big), fresh),
            Contender("tf.io", _tf_write(big), fresh),
            Contender("tfrecord pkg", _pkg_write(big), fresh),
            Contender("plain f.write", _plain_write(big), fresh),
        ], repeats=5)
        row = _row(f"write {size // 1000:,} KB x {count:,}", times, size * count, None)
        # target: within 25% of page-cache speed, i.e. ours takes <= 1.25x bare f.write
        row["vs_page_cache"] = times.ratio("tfrecord_lite", "plain f.write")
        row["target_text"] = "<= 1.25x plain f.write time"
        row["passed"] = row["vs_page_cache"] <= 1.25
        rows.append(row)
        del big
    if path.exists():
        path.unlink()
    return rows


# reading: (record size, count, target for the batch reader against the faster of TF's two);
# the targets are issue 28's, for the C path
_READS = ((100, 50_000, 3.0), (10_000, 5_000, 3.0), (100_000, 500, None))


def _size(n: int) -> str:
    return f"{n:,} B" if n < 1000 else f"{n / 1000:g} KB"


def read_benchmarks(work: Path, quick: bool = False) -> list[Row]:
    """Read back what TF wrote: ours (CRC-checked, record by record and in batches) vs TF's
    iterator, tf.data in batches of 1024 and `tfrecord`; the ratio is against the faster of
    TF's two readers in each round."""
    work.mkdir(parents=True, exist_ok=True)
    scale = 4 if quick else 1
    rows: list[Row] = []
    for (size, count, target), mixed in ((r, m) for r in _READS for m in (False, True)):
        count //= scale
        records = _records(count, size, seed=3, mixed=mixed)
        path = work / f"read-{size}{'-mixed' if mixed else ''}.tfrecord"
        _tf_write(records)(path)

        def ours(_: Any, path: Path = path) -> None:
            for _record in tf_record_iterator(str(path)):
                pass

        def ours_batches(_: Any, path: Path = path) -> None:
            for _batch in tf_record_batches(str(path)):
                pass

        def tf_iter(_: Any, path: Path = path) -> None:
            for _record in tf.compat.v1.io.tf_record_iterator(str(path)):
                pass

        def tf_data(_: Any, path: Path = path) -> None:
            # batched, as input pipelines use it: one Python step per 1024 records
            for _batch in tf.data.TFRecordDataset(str(path)).batch(1024).as_numpy_iterator():
                pass

        def pkg(_: Any, path: Path = path) -> None:
            for _record in pkg_iterator(str(path)):
                pass

        times = race([
            Contender("tfrecord_lite", ours),
            Contender("batches", ours_batches),
            Contender("tf.io", tf_iter),
            Contender("tf.data", tf_data),
            Contender("tfrecord pkg", pkg),
        ], repeats=7)
        label = _size(size)
        if mixed:  # the same goal: records of one length are the easy case (read in C)
            label += f" (mixed lengths {_size(size // 2)}-{_size(size + size // 2)})"
        for ours_name, how, goal in (
            ("batches", "tf_record_batches", target),
            ("tfrecord_lite", "tf_record_iterator", None),
        ):
            row = _row(f"read {label} x {count:,} (CRC checked), {how}", times, size * count,
                       goal, ours=ours_name)
            row["ratio"] = times.best_ratio(["tf.io", "tf.data"], ours_name)
            row["passed"] = None if goal is None else row["ratio"] >= goal
            row["baseline_name"] = "faster of tf_record_iterator and tf.data (batches of 1024)"
            rows.append(row)
        os.unlink(path)
    return rows


def example_benchmarks(quick: bool = False) -> list[Row]:
    """Build + serialise a ModelPack record (60 KB image, 5 boxes); and parse it back."""
    rng = random.Random(5)
    image = rng.randbytes(60_000)
    objects = [0, 1, 2, 1, 0]
    bboxes = [rng.random() for _ in range(20)]
    count = 5_000 // (4 if quick else 1)
    names = [f"image_{i:06d}.jpg" for i in range(count)]

    def ours(_: Any) -> None:
        for name in names:
            encode_example({"image": image, "image_name": name, "width": 640, "height": 480,
                            "objects": objects, "bboxes": bboxes})

    def tf_idiom(_: Any) -> None:
        train = tf.train
        for name in names:
            train.Example(features=train.Features(feature={
                "image": train.Feature(bytes_list=train.BytesList(value=[image])),
                "image_name": train.Feature(bytes_list=train.BytesList(value=[name.encode()])),
                "width": train.Feature(int64_list=train.Int64List(value=[640])),
                "height": train.Feature(int64_list=train.Int64List(value=[480])),
                "objects": train.Feature(int64_list=train.Int64List(value=objects)),
                "bboxes": train.Feature(float_list=train.FloatList(value=bboxes)),
            })).SerializeToString()

    def pkg(_: Any) -> None:
        serialize = tfrecord_pkg.TFRecordWriter.serialize_tf_example
        for name in names:
            serialize({"image": (image, "byte"), "image_name": (name.encode(), "byte"),
                       "width": (640, "int"), "height": (480, "int"),
                       "objects": (objects, "int"), "bboxes": (bboxes, "float")})

    def ours_modelpack(_: Any) -> None:
        for name in names:
            encode_record(image, name, 640, 480, objects, bboxes)

    times = race([
        Contender("tfrecord_lite", ours),
        Contender("modelpack", ours_modelpack),
        Contender("tf.io", tf_idiom),
        Contender("tfrecord pkg", pkg),
    ], repeats=7)
    rows = [_row(f"build+serialise ModelPack Example x {count:,} (60 KB image, 5 boxes), "
                 "generic encode_example", times, 0, 4.0)]
    rows.append(_row(f"build+serialise ModelPack Example x {count:,} (60 KB image, 5 boxes), "
                     "modelpack.encode_record (what the converter uses)", times, 0, 3.0,
                     ours="modelpack"))

    serialized = encode_example({"image": image, "image_name": names[0], "width": 640,
                                 "height": 480, "objects": objects, "bboxes": bboxes})

    def ours_decode(_: Any) -> None:
        for _ in range(count):
            decode_example(serialized)

    def tf_decode(_: Any) -> None:
        from_string = tf.train.Example.FromString
        for _ in range(count):
            feature = from_string(serialized).features.feature
            {key: list(getattr(f, f.WhichOneof("kind")).value) for key, f in feature.items()}

    times = race([
        Contender("tfrecord_lite", ours_decode),
        Contender("tf.io", tf_decode),
    ], repeats=7)
    row = _row(f"parse ModelPack Example to lists x {count:,}", times, 0, 3.0)
    row["baseline_name"] = "tf.train.Example.FromString + lists"
    rows.append(row)
    return rows
