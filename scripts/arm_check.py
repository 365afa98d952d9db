"""make arm-check's checker, run by the arm64 Python under qemu-aarch64 (scripts/arm-check.sh):
the cross-compiled C core is what runs, and its CRC-32C (the ARMv8 CRC instructions, and the
table fallback a CPU without them takes) gives the known answers and the pure path's.

Usage: arm_check.py SRC   (SRC: the tree copy the extensions were built into, on PYTHONPATH)
"""

from __future__ import annotations

import platform
import random
import sys
import sysconfig
from pathlib import Path

# CRC-32C known answers (RFC 3720 B.4 and the usual check value), and TFRecord's mask of "foo"
VECTORS = [(b"", 0), (b"123456789", 0xE3069283), (b"\x00" * 32, 0x8A9136AA),
           (b"\xff" * 32, 0x62A8AB43), (bytes(range(32)), 0x46DD794E),
           (bytes(range(31, -1, -1)), 0x113FDB5C)]
MASKED_FOO = 0xFEBE8A61


def main(src: Path) -> list[str]:
    import tfrecord_lite
    from tfrecord_lite.format import _speedups, crc
    from tfrecord_lite.pipeline.formats import _tracer

    problems = []
    if platform.machine() != "aarch64":
        problems.append(f"running on {platform.machine()}, not aarch64")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    for mod in (_speedups, _tracer):
        path = Path(mod.__file__ or "")
        if not (path.is_relative_to(src) and path.name.endswith(suffix)):
            problems.append(f"{mod.__name__} is {path}, not a {suffix} module built in {src}")
    if not tfrecord_lite.speedups.compiled or "C mask tracer" not in str(tfrecord_lite.speedups):
        problems.append(f"tfrecord_lite.speedups says {tfrecord_lite.speedups}")
    if _speedups.CRC_KIND != "armv8":
        problems.append(f"CRC_KIND is {_speedups.CRC_KIND!r}, want 'armv8' (the CPU has CRC32)")
    pure = crc._table_crc32c()  # the pure-Python reference
    ways = {"armv8": _speedups.crc32c, "C table": _speedups.crc32c_table, "pure": pure}
    for data, want in VECTORS:
        for name, fn in ways.items():
            if fn(data) != want:
                problems.append(f"{name} CRC-32C of {data[:12]!r}: {fn(data):#010x}, want "
                                f"{want:#010x}")
            for cut in range(len(data) + 1):  # continued over two pieces, as the writer does
                if fn(data[cut:], fn(data[:cut])) != want:
                    problems.append(f"{name} CRC-32C of {data[:12]!r} continued at {cut}")
                    break
    if _speedups.masked_crc(b"foo") != MASKED_FOO:
        problems.append(f"masked_crc(b'foo') is {_speedups.masked_crc(b'foo'):#010x}")
    # every length to 300 and a few long ones, at each start alignment: the instruction loop,
    # its 8-byte words and the tail against the table and the pure path
    rng = random.Random(28)
    buf = rng.randbytes(1 << 20 | 300)
    view = memoryview(buf)
    cases = [(off, n) for off in range(8) for n in range(301)]
    cases += [(off, n) for off in (0, 3) for n in (4096, 65537, 1 << 20)]
    for off, n in cases:
        piece = view[off:off + n]
        hw, table = _speedups.crc32c(piece), _speedups.crc32c_table(piece)
        ref = pure(piece) if n <= 65537 else table
        if not hw == table == ref:
            problems.append(f"{n} bytes at offset {off}: armv8 {hw:#010x}, table {table:#010x},"
                            f" pure {ref:#010x}")
    print(f"arm_check: {platform.machine()}, {tfrecord_lite.speedups}; "
          f"{Path(_speedups.__file__ or '').name}, {Path(_tracer.__file__ or '').name}; "
          f"{len(VECTORS)} known answers and {len(cases)} lengths x alignments agree "
          f"(armv8 = C table = pure)" if not problems else "arm_check: FAILED")
    return problems


if __name__ == "__main__":
    found = main(Path(sys.argv[1]).resolve())
    for problem in found:
        print(f"  {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)
