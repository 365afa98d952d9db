"""``tfrecord-lite index FILE...``: write each file's record offsets beside it (``FILE.index``,
the ``tfrecord`` package's format), for random access and sharded reading."""

from __future__ import annotations

import argparse
import os
from typing import Any

from tfrecord_lite.format.errors import TFRecordLiteError
from tfrecord_lite.format.index import write_index


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "index",
        help="write FILE.index (record offsets, the tfrecord package's format) beside each file",
        description="Read each uncompressed TFRecord file once (CRCs checked) and write "
        "FILE.index beside it: one '<offset> <size>' line per record, the text format of the "
        "tfrecord package's .index files, so either tool can use the other's.  Exits 1 when "
        "a file cannot be indexed (the others are still done).",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="uncompressed TFRecord files")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    return p


def run(args: argparse.Namespace) -> int:
    failed = 0
    for name in args.files:
        if os.path.isdir(name):
            print(f"error: {name}: is a folder; give its files (e.g. {name}/*.tfrecord)")
            failed += 1
            continue
        try:
            target, count = write_index(name)
        except TFRecordLiteError as exc:
            print(f"error: {exc}")
            failed += 1
        except OSError as exc:
            print(f"error: {name}: cannot read or write: {exc.strerror or exc}")
            failed += 1
        else:
            if not args.quiet:
                print(f"{target}: {count} records")
    return 1 if failed else 0
