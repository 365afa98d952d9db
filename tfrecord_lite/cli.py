"""``tfrecord-lite``: convert, inspect, verify, preview.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` and ``run(args)``;
this file only dispatches, and maps our errors onto exit codes (0 done, 1 invalid input, 2 usage).
Imports are deferred so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS = {
    "convert": "tfrecord_lite.convert_cli",
    "inspect": "tfrecord_lite.inspect",
    "verify": "tfrecord_lite.verify",
    "preview": "tfrecord_lite.preview",
    "index": "tfrecord_lite.index_cli",
}

SUMMARY = {
    "convert": "turn a SageMaker Ground Truth manifest and its images into a ModelPack dataset",
    "inspect": "show what a TFRecord file, a folder of shards or a dataset holds",
    "verify": "check every record (CRC, Example, ModelPack schema); exit 1 on any problem",
    "preview": "draw samples with their boxes into a contact-sheet PNG",
    "index": "write FILE.index (record offsets) beside each file, for random access",
}


class UsageError(Exception):
    """Bad command-line usage found after parsing (exit code 2)."""


def _build_parser(command: str | None) -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="tfrecord-lite",
        description="TFRecord files and ModelPack datasets without TensorFlow.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if name == command:
            importlib.import_module(COMMANDS[name]).add_parser(sub)
        else:
            sub.add_parser(name, help=SUMMARY[name], add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .errors import TFRecordLiteError

    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if not a.startswith("-")), None)
    parser = _build_parser(command if command in COMMANDS else None)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return int(exc.code or 0)
    if not args.command:
        parser.print_help()
        return 2
    module = importlib.import_module(COMMANDS[args.command])
    try:
        return int(module.run(args) or 0)
    except UsageError as exc:
        print(f"tfrecord-lite {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except TFRecordLiteError as exc:
        print(f"tfrecord-lite {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tfrecord-lite {args.command}: interrupted; nothing was published", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
