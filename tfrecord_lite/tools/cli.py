"""``tfrecord-lite``: convert, inspect, verify, preview.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` and ``run(args)``;
this file only dispatches, and maps our errors onto exit codes (0 done, 1 invalid input, 2 usage).
Imports are deferred so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import signal
import sys
from collections.abc import Sequence

COMMANDS = {
    "convert": "tfrecord_lite.tools.convert_cli",
    "inspect": "tfrecord_lite.tools.inspection",
    "verify": "tfrecord_lite.tools.verify",
    "preview": "tfrecord_lite.tools.preview",
    "index": "tfrecord_lite.tools.index_cli",
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


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that the same clean-up runs."""


class _Signals:
    """Ctrl-C raises KeyboardInterrupt and SIGTERM Terminated while a command runs, once: a
    second signal during the clean-up is ignored.  Once the command is finishing (result known,
    message printed) both are ignored, so a late signal cannot turn a finished run into a
    traceback or an exit by signal during the interpreter's shutdown.

    Python runs a handler between any two bytecodes, also inside a weakref or ``__del__``
    callback, where a raised exception is only reported as "Exception ignored" and lost; such a
    lost interrupt is sent again, to be raised where it can end the run."""

    def __init__(self) -> None:
        self.finishing = False
        self.raised = False
        self._lost: BaseException | None = None
        self._previous: dict[int, object] = {}
        self._hook = sys.unraisablehook

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:  # e.g. nohup's: keep it
                self._previous[signum] = signal.signal(signum, self._handle)
        sys.unraisablehook = self._unraisable

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        sys.unraisablehook = self._hook
        if self._lost is not None or signal.getsignal(signal.SIGALRM) == self._deliver:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)

    def _handle(self, signum: int, frame: object) -> None:
        if self.finishing or self.raised:
            return
        self.raised = True
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated

    def _unraisable(self, info: sys.UnraisableHookArgs) -> None:
        exc = info.exc_value
        if self.raised and isinstance(exc, (KeyboardInterrupt, Terminated)):
            # lost in a callback: raise it again 10 ms from now, once this hook (where an
            # exception would be lost too) has returned; lost again, it comes back here
            self._lost = exc
            signal.signal(signal.SIGALRM, self._deliver)
            signal.setitimer(signal.ITIMER_REAL, 0.01)
            return
        self._hook(info)

    def _deliver(self, signum: int, frame: object) -> None:
        lost, self._lost = self._lost, None
        if lost is not None and not self.finishing:
            raise lost


class _Parser(argparse.ArgumentParser):
    """No abbreviations: ``--over`` must not silently mean ``--overwrite``, the flag that
    replaces a dataset."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


class _Version(argparse.Action):
    """``--version``: the version and the path in use (C speedups or pure Python), found only
    when asked, so no other command pays for loading the extension."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default,
                         help=help or "show the version and whether the C speedups run, and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(version_line())  # on stdout, as argparse's own version action
        parser.exit()


def version_line() -> str:
    from tfrecord_lite import __version__
    from tfrecord_lite.format._accel import speedups

    return f"tfrecord-lite {__version__} ({speedups})"


def _build_parser(command: str | None) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The top-level parser, and the chosen command's own (the top-level one if none)."""
    parser = _Parser(
        prog="tfrecord-lite",
        description="TFRecord files and ModelPack datasets without TensorFlow.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    chosen = parser
    for name in COMMANDS:
        if name == command:
            chosen = importlib.import_module(COMMANDS[name]).add_parser(sub)
            chosen.add_argument("--version", action=_Version)
        else:
            sub.add_parser(name, help=SUMMARY[name], add_help=False)
    return parser, chosen


def _unknown(parser: argparse.ArgumentParser, extra: list[str]) -> None:
    """Report unknown arguments from the command's own parser, with its usage and a guess."""
    known = [o for action in parser._actions for o in action.option_strings]
    hints = []
    for arg in extra:
        guess = difflib.get_close_matches(arg.split("=", 1)[0], known, n=1, cutoff=0.6)
        if arg.startswith("-") and guess:
            hints.append(f"{arg}: did you mean {guess[0]}?")
    parser.error(
        f"unrecognized arguments: {' '.join(extra)}" + ("; " + "; ".join(hints) if hints else "")
    )


def main(argv: Sequence[str] | None = None, *, exiting: bool = False) -> int:
    """Run one subcommand; Ctrl-C (130) and SIGTERM (143) end it with one line at any moment.
    ``exiting``: the process ends after this call, so late signals stay ignored."""
    signals = _Signals()
    signals.install()
    command = ""
    try:
        args_list = list(sys.argv[1:] if argv is None else argv)
        command = next((a for a in args_list if not a.startswith("-")), None) or ""
        code = _main(args_list, command if command in COMMANDS else None)
        signals.finishing = True
        return code
    except (KeyboardInterrupt, Terminated) as exc:
        signals.finishing = True
        code = 130 if isinstance(exc, KeyboardInterrupt) else 143
        what = getattr(exc, "after", None) or "nothing was published"
        name = f" {command}" if command in COMMANDS else ""
        try:
            print(f"tfrecord-lite{name}: interrupted; {what}", file=sys.stderr)
        except OSError:
            pass
        return code
    finally:
        if not exiting:
            signals.restore()


def entry() -> int:
    """The console script: ``main``, then the process ends at once.  Skipping the interpreter's
    shutdown is deliberate: a signal landing there made CPython kill itself with SIGINT (exit
    status -2) after we had already answered it."""
    code = main(exiting=True)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _main(args_list: list[str], command: str | None) -> int:
    from tfrecord_lite.format.errors import TFRecordLiteError

    parser, chosen = _build_parser(command)
    try:
        args, extra = parser.parse_known_args(args_list)
        if extra:
            _unknown(chosen, extra)
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
    except BrokenPipeError:
        return 0
