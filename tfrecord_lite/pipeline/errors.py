"""The converter's errors and its error policy; all are ``TFRecordLiteError``, so callers catch
one family and print it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tfrecord_lite.format.errors import TFRecordLiteError


class InputError(TFRecordLiteError):
    """Bad user input (manifest, image, mask, classes file): names where, what, and what to do.

    ``path`` and ``line`` locate the problem (line is 1-based, 0 when not line-bound), ``value``
    is the offending value (shortened), ``hint`` says what to do, ``reason`` is a short stable
    key used to count skipped items in the summary (e.g. ``"bad-json"``, ``"missing-image"``).
    """

    def __init__(
        self,
        path: str,
        line: int,
        message: str,
        *,
        value: object = None,
        hint: str = "",
        reason: str = "invalid",
    ) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        self.value = value
        self.hint = hint
        self.reason = reason
        where = f"{self.path}:{line}" if line else self.path
        text = f"{where}: {message}" if where else message
        if value is not None:
            shown = repr(value)
            if len(shown) > 200:
                shown = shown[:197] + "..."
            text += f" (value: {shown})"
        if hint:
            text += f"; {hint}"
        super().__init__(text)

    def at(self, path: str, line: int) -> InputError:
        """This error with its file and line: given once, where the line was read, to the
        errors raised (by ``problem``) in code that only sees the line's values."""
        if self.path:
            return self
        return type(self)(path, line, self.message, value=self.value, hint=self.hint,
                          reason=self.reason)

    def __reduce__(self):  # survive pickling between worker processes
        return (
            _rebuild_input_error,
            (type(self), self.path, self.line, self.message, self.value, self.hint, self.reason),
        )


def _rebuild_input_error(cls, path, line, message, value, hint, reason):
    return cls(path, line, message, value=value, hint=hint, reason=reason)


def problem(message: str, *, value: object = None, hint: str = "",
            reason: str = "invalid") -> InputError:
    """An ``InputError`` found in a line's values; the reader adds the file and line (``at``)."""
    return InputError("", 0, message, value=value, hint=hint, reason=reason)


class OutputError(TFRecordLiteError):
    """The output cannot be written (exists, no space, locked by another run)."""


@dataclass(frozen=True)
class ErrorPolicy:
    """What the reader does with one bad input item (a line, an image): stop the run, or skip
    the item, count it in the summary and tell ``on_skip`` (the CLI prints a line).  Handed down
    as a value, from the CLI's ``--skip-invalid`` or the API's ``skip_invalid``."""

    skip: bool = False
    on_skip: Callable[[InputError], None] | None = None

    def handle(self, error: InputError) -> None:
        """Raise ``error``, or report it as skipped (the caller counts it)."""
        if not self.skip:
            raise error
        if self.on_skip is not None:
            self.on_skip(error)


RAISE = ErrorPolicy()
SKIP = ErrorPolicy(skip=True)
