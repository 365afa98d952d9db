"""Regenerate the golden TFRecord files with TensorFlow itself (run in `.venv-tf`).

The files are the ground truth `tests/test_golden.py` checks our writer and reader against
without TensorFlow installed, so they must come from `tf.io.TFRecordWriter`, never from us.

    .venv-tf/bin/python tests/golden/make_golden.py

The records are deterministic (no randomness, no clock), so rerunning with the same TensorFlow
and zlib reproduces the same bytes; `golden.json` records which TensorFlow made them.
"""

from __future__ import annotations

import base64
import json
import math
import struct
import zlib
from pathlib import Path
from typing import Any

import tensorflow as tf

HERE = Path(__file__).resolve().parent


def big_record(size: int = 100_003) -> bytes:
    """A ~100 KB record that is not a single repeated byte yet gzips small (keeps the repo lean)."""
    line = bytes(range(256))
    out = bytearray()
    i = 0
    while len(out) < size:
        out += line[i % 7 :] + i.to_bytes(4, "big")
        i += 1
    return bytes(out[:size])


def plain_records() -> list[bytes]:
    """Framing edge cases: empty record, 1 byte, text, all byte values, 64 KiB, ~100 KB."""
    return [
        b"foo",
        b"",
        b"\x00",
        "unicode: h\u00e9llo w\u00f6rld \u2603".encode(),
        bytes(range(256)),
        b"\xff" * 65536,
        big_record(),
    ]


def word_records() -> list[bytes]:
    """~200 KB of word salad: enough deflate symbols to fill several blocks, so the block
    boundaries (zlib memLevel, which TensorFlow sets to 9) show in the compressed bytes."""
    words = [w.encode() for w in "the cat sat on a mat with boxes of tfrecord data and".split()]
    state = 12345
    out = []
    for _ in range(4):
        parts = []
        for _ in range(9000):
            state = (state * 1103515245 + 12345) & 0x7FFFFFFF  # fixed LCG: same bytes everywhere
            parts.append(words[state % len(words)] + (b"%d" % (state % 97) if state & 1 else b""))
        out.append(b" ".join(parts))
    return out


def small_records() -> list[bytes]:
    """A short file for the flip-every-byte test (every byte is checked, so keep it small)."""
    return [b"", b"a", b"hello world", bytes(range(40))]


def f32(x: float) -> float:
    """The float as it comes back from a float_list (float32 precision)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


# Every value the Example matrix covers; JSON-able description -> TF feature.
# kind: "bytes" values are base64, "int64" plain ints, "float" floats or "nan"/"inf"/"-inf".
EXAMPLES: list[dict[str, tuple[str, list[Any]]]] = [
    {
        "image": ("bytes", [b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9"]),
        "image_name": ("bytes", [b"0001.jpg"]),
        "width": ("int64", [640]),
        "height": ("int64", [480]),
        "objects": ("int64", [0, 2, 1]),
        "bboxes": ("float", [0.5, 0.5, 0.25, 0.125, 0.1, 0.2, 0.3, 0.4, 1.0, 0.0, 1e-7, 0.999]),
    },
    {
        "ints": ("int64", [0, 1, -1, 127, 128, -128, 2**31, -(2**31) - 1, 2**63 - 1, -(2**63)]),
        "bools": ("int64", [1, 0]),
        "unicode": ("bytes", ["\u65e5\u672c\u8a9e \U0001f431 caf\u00e9".encode()]),
        "raw": ("bytes", [bytes(range(256)), b"", b"\x00\x00"]),
        "floats": ("float", [0.0, -0.0, 1.5, -2.25, 3.4028234663852886e38, 1e-45, "inf", "-inf"]),
        "nan": ("float", ["nan"]),
    },
    {
        "empty_bytes": ("bytes", []),
        "empty_int": ("int64", []),
        "empty_float": ("float", []),
        "one": ("int64", [1]),
    },
    {},
]


def _float(v: float | str) -> float:
    return float(v) if isinstance(v, str) else v


def tf_example(spec: dict[str, tuple[str, list[Any]]]) -> tf.train.Example:
    """Build the Example the way TensorFlow users do."""
    feature: dict[str, tf.train.Feature] = {}
    for key, (kind, values) in spec.items():
        if kind == "bytes":
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
        elif kind == "int64":
            feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        else:
            floats = [_float(v) for v in values]
            feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=floats))
    return tf.train.Example(features=tf.train.Features(feature=feature))


def describe(spec: dict[str, tuple[str, list[Any]]]) -> dict[str, Any]:
    """The expected decode_example() result in JSON form (bytes as base64, floats as float32)."""
    out: dict[str, Any] = {}
    for key, (kind, values) in spec.items():
        if kind == "bytes":
            shown: list[Any] = [base64.b64encode(v).decode() for v in values]
        elif kind == "float":
            shown = []
            for v in values:
                x = f32(_float(v))
                shown.append(str(x) if math.isnan(x) or math.isinf(x) else x)
        else:
            shown = list(values)
        out[key] = {"kind": kind, "values": shown}
    return out


def write(name: str, records: list[bytes], options: str | None = None) -> None:
    with tf.io.TFRecordWriter(str(HERE / name), options=options) as writer:
        for record in records:
            writer.write(record)


def main() -> None:
    write("foo.tfrecord", [b"foo"])
    write("plain.tfrecord", plain_records())
    write("plain.gzip.tfrecord", plain_records(), "GZIP")
    write("plain.zlib.tfrecord", plain_records(), "ZLIB")
    write("small.tfrecord", small_records())
    write("words.gzip.tfrecord", word_records(), "GZIP")
    examples = [tf_example(spec).SerializeToString(deterministic=True) for spec in EXAMPLES]
    write("examples.tfrecord", examples)

    def digests(records: list[bytes]) -> list[dict[str, Any]]:
        return [
            {"len": len(r), "b64": base64.b64encode(r).decode()}
            if len(r) <= 64
            else {"len": len(r), "crc32_zlib": zlib.crc32(r)}
            for r in records
        ]

    info = {
        "made_by": f"tensorflow {tf.__version__} tf.io.TFRecordWriter via make_golden.py",
        "files": {
            "foo.tfrecord": {"options": None, "records": digests([b"foo"])},
            "plain.tfrecord": {"options": None, "records": digests(plain_records())},
            "plain.gzip.tfrecord": {"options": "GZIP", "same_records_as": "plain.tfrecord"},
            "plain.zlib.tfrecord": {"options": "ZLIB", "same_records_as": "plain.tfrecord"},
            "small.tfrecord": {"options": None, "records": digests(small_records())},
            "words.gzip.tfrecord": {"options": "GZIP", "records": digests(word_records())},
            "examples.tfrecord": {
                "options": None,
                "serialized": "tf.train.Example SerializeToString(deterministic=True)",
                "examples": [describe(spec) for spec in EXAMPLES],
            },
        },
    }
    (HERE / "golden.json").write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    total = sum(p.stat().st_size for p in HERE.glob("*.tfrecord"))
    print(f"wrote {len(info['files'])} golden files ({total} bytes) to {HERE}")


if __name__ == "__main__":
    main()
