"""What the pure-Python path measured before the C core existed: the "TF time / ours" ratios of
benchmarks/RESULTS.md as committed in c2f811a (make bench of 2026-12-02 15:05, the code of
d42f22a).  Issue 28 asks that the pure path (``TFRECORD_LITE_PURE=1``) be no slower than that;
``run.py`` measures the pure path against TensorFlow in the same run as the rest and sets it
beside these.  Keys are the io table's case names at full size.
"""

from __future__ import annotations

PURE_BEFORE_C: dict[str, float] = {
    "write 100 B x 200,000, write() per record": 1.63,
    "write 100 B x 200,000, write_many()": 2.31,
    "write 10 KB x 6,000": 2.80,
    "write 100 KB x 1,000": 1.23,
    "write 1,000 KB x 100": 1.42,
    "build+serialise ModelPack Example x 5,000 (60 KB image, 5 boxes), generic encode_example":
        2.24,
    "build+serialise ModelPack Example x 5,000 (60 KB image, 5 boxes), modelpack.encode_record "
    "(what the converter uses)": 3.70,
    "parse ModelPack Example to lists x 5,000": 1.09,
    "read 100 B x 50,000 (CRC checked), tf_record_batches": 2.21,
    "read 100 B x 50,000 (CRC checked), tf_record_iterator": 1.98,
    "read 100 B (mixed lengths 50 B-150 B) x 50,000 (CRC checked), tf_record_batches": 0.97,
    "read 100 B (mixed lengths 50 B-150 B) x 50,000 (CRC checked), tf_record_iterator": 0.91,
    "read 10 KB x 5,000 (CRC checked), tf_record_batches": 2.27,
    "read 10 KB x 5,000 (CRC checked), tf_record_iterator": 2.22,
    "read 10 KB (mixed lengths 5 KB-15 KB) x 5,000 (CRC checked), tf_record_batches": 1.80,
    "read 10 KB (mixed lengths 5 KB-15 KB) x 5,000 (CRC checked), tf_record_iterator": 1.76,
    "read 100 KB x 500 (CRC checked), tf_record_batches": 2.34,
    "read 100 KB x 500 (CRC checked), tf_record_iterator": 2.42,
    "read 100 KB (mixed lengths 50 KB-150 KB) x 500 (CRC checked), tf_record_batches": 2.22,
    "read 100 KB (mixed lengths 50 KB-150 KB) x 500 (CRC checked), tf_record_iterator": 2.06,
}

NOISE = 0.8
"""A pure-path ratio counts as no slower when it is at least this share of the one before.  The
three make bench runs of 2026-12-02 (RESULTS.md of ed5e81a, 1a7b3cb and c2f811a) gave each read
and Example row ratios whose smallest was 0.77-0.98 of its largest; the writes of 10 KB and more
are bound by the page cache and moved far more (0.28-0.85), so a miss there says little."""
