"""The errors of the format library: which check failed, in which file, at which byte."""

from __future__ import annotations


class TFRecordLiteError(Exception):
    """Base of every error this package raises on bad input."""


class RecordError(TFRecordLiteError):
    """A TFRecord file is not well formed; says which check failed, in which file, at which byte.

    ``offset`` is where the failing record starts (its length field), counted in the
    decompressed stream for GZIP/ZLIB files, as TensorFlow counts it; every record before it is
    good.  For ``DataCRCError`` too it points at the record's start, not at its payload (the
    payload is at ``offset + 12``, its stored CRC at ``offset + 12 + length``; TensorFlow's
    "corrupted record at N" names the payload, ``offset + 12``).
    """

    check = "record"

    def __init__(self, path: str, offset: int, detail: str) -> None:
        self.path = path
        self.offset = offset
        self.detail = detail
        super().__init__(f"{path}: byte offset {offset}: {self.check}: {detail}")

    def __reduce__(self):  # survive pickling between worker processes
        return (type(self), (self.path, self.offset, self.detail))


class TruncatedRecordError(RecordError):
    check = "truncated record"


class LengthCRCError(RecordError):
    check = "length CRC mismatch"


class DataCRCError(RecordError):
    check = "data CRC mismatch"


class DataLossError(RecordError):
    """A GZIP/ZLIB stream is corrupt or cut short (TensorFlow's ``DataLossError``).

    ``offset`` is the decompressed offset of the record that could not be read (every record
    before it is good); ``compressed_offset`` is where, in the file's bytes, the stream broke.
    """

    check = "data loss"

    def __init__(self, path: str, offset: int, detail: str, compressed_offset: int = 0) -> None:
        self.compressed_offset = compressed_offset
        super().__init__(path, offset, detail)

    def __reduce__(self):
        return (type(self), (self.path, self.offset, self.detail, self.compressed_offset))


class ExampleError(TFRecordLiteError):
    """A value cannot become a tf.train.Example feature, or bytes are not an Example."""
