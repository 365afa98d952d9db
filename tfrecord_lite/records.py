"""TFRecord framing over any binary file object.  Moves bytes only: no protobuf here.

Each record is ``uint64 length (LE) | masked crc32c(length) | data | masked crc32c(data)``.
GZIP and ZLIB compress the whole stream, as ``tf.io.TFRecordOptions`` does.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from typing import IO, BinaryIO, Union

from .crc import MASK_DELTA, crc32c
from .crc import masked_crc as _masked
from .errors import DataCRCError, LengthCRCError, TruncatedRecordError

__all__ = [
    "TFRecordOptions",
    "TFRecordWriter",
    "tf_record_iterator",
    "FRAME_OVERHEAD",
]

PathOrFile = Union[str, "os.PathLike[str]", BinaryIO, IO[bytes]]

FRAME_OVERHEAD = 16
"""Bytes the framing adds to each record: 8 length, 4 length CRC, 4 data CRC."""

_LEN = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_HEADER = struct.Struct("<QI")
_pack_u32 = _U32.pack
_BIG_READ = 16 << 20  # records larger than this are read in pieces, as the bytes arrive


_HEADS: dict[int, bytes] = {}  # record length -> its 12 header bytes (lengths repeat a lot)
_JOIN_LIMIT = 1 << 16  # records smaller than this are joined with their framing in one write
_BATCH = 1024  # records framed and written together by write_many
_BUFFER = 1 << 20  # file buffer of the files we open


def _head(n: int) -> bytes:
    """Length and masked length CRC: the first 12 bytes of a framed record."""
    header = _LEN.pack(n)
    head = header + _U32.pack(_masked(header))
    if len(_HEADS) < 65536:
        _HEADS[n] = head
    return head


@dataclass(frozen=True)
class TFRecordOptions:
    """Compression of a whole TFRecord stream: ``None``/``""``, ``"GZIP"`` or ``"ZLIB"``.

    ``compression_level`` follows zlib (0-9, -1 = default), like TensorFlow's option.
    """

    compression_type: str | None = None
    compression_level: int = -1

    def __post_init__(self) -> None:
        kind = (self.compression_type or "").upper()
        if kind not in ("", "GZIP", "ZLIB"):
            raise ValueError(
                "compression_type must be None, '', 'GZIP' or 'ZLIB', "
                f"not {self.compression_type!r}"
            )
        object.__setattr__(self, "compression_type", kind or None)

    @classmethod
    def coerce(cls, options: None | str | TFRecordOptions) -> TFRecordOptions:
        if isinstance(options, TFRecordOptions):
            return options
        return cls(options)

    @property
    def wbits(self) -> int:
        """zlib window bits: 31 writes a gzip wrapper, 15 a zlib wrapper (TF's choices)."""
        return 31 if self.compression_type == "GZIP" else 15


def _open(path_or_file: PathOrFile, mode: str) -> tuple[BinaryIO, str, bool]:
    """A binary file, a name for messages, and whether we own (and must close) it."""
    if isinstance(path_or_file, (str, os.PathLike)):
        # a 1 MiB buffer: small records reach the kernel in large writes (and reads)
        return open(path_or_file, mode, buffering=_BUFFER), os.fspath(path_or_file), True  # noqa: SIM115
    name = getattr(path_or_file, "name", None)
    return path_or_file, str(name) if isinstance(name, (str, bytes)) else "<stream>", False  # type: ignore[return-value]


class _Compressor:
    """File-like sink that deflates everything written to it into ``out``."""

    def __init__(self, out: BinaryIO, options: TFRecordOptions) -> None:
        self._out = out
        # memLevel 9 is what TensorFlow's zlib stream uses; with zlib's default 8 the bytes differ
        self._z = zlib.compressobj(options.compression_level, zlib.DEFLATED, options.wbits, 9)
        self.bytes_out = 0

    def write(self, data: bytes) -> None:
        chunk = self._z.compress(data)
        if chunk:
            self.bytes_out += len(chunk)
            self._out.write(chunk)

    def sync(self) -> None:
        """Emit everything pending, so ``bytes_out`` is exact (changes the bytes: use sparingly)."""
        chunk = self._z.flush(zlib.Z_SYNC_FLUSH)
        self.bytes_out += len(chunk)
        self._out.write(chunk)

    def flush(self) -> None:
        self._out.flush()

    def finish(self) -> None:
        chunk = self._z.flush(zlib.Z_FINISH)
        self.bytes_out += len(chunk)
        self._out.write(chunk)


class TFRecordWriter:
    """Writes framed records to a path or a binary file object, like ``tf.io.TFRecordWriter``."""

    def __init__(
        self, path_or_file: PathOrFile, options: None | str | TFRecordOptions = None
    ) -> None:
        self.options = TFRecordOptions.coerce(options)
        self._file, self.name, self._owned = _open(path_or_file, "wb")
        self._compressor: _Compressor | None = None
        if self.options.compression_type:
            self._compressor = _Compressor(self._file, self.options)
            self._write = self._compressor.write
        else:
            self._write = self._file.write
        self._closed = False

    def write(self, record: bytes) -> None:
        """Append one record."""
        n = len(record)
        c = crc32c(record)
        tail = _pack_u32((((c >> 15) | (c << 17)) + MASK_DELTA) & 0xFFFFFFFF)  # crc.mask, inlined
        try:
            head = _HEADS[n]
        except KeyError:
            head = _head(n)
        if n < _JOIN_LIMIT:
            self._write(b"".join((head, record, tail)))
        else:  # no copy of a large record: three writes
            self._write(head)
            self._write(record)
            self._write(tail)

    def write_many(self, records: Iterable[bytes]) -> None:
        """Append many records, framed a batch at a time and written with one call per batch:
        much faster than ``write`` for small records."""
        records = iter(records)
        while True:
            batch = list(islice(records, _BATCH))
            if not batch:
                return
            lengths = list(map(len, batch))
            for n in set(lengths).difference(_HEADS):
                _head(n)
            heads = list(map(_HEADS.__getitem__, lengths))
            tails = [
                _pack_u32((((c >> 15) | (c << 17)) + MASK_DELTA) & 0xFFFFFFFF)  # crc.mask, inlined
                for c in map(crc32c, batch)
            ]
            self._write(b"".join(chain.from_iterable(zip(heads, batch, tails))))

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._compressor is not None:
                self._compressor.finish()
            self._file.flush()
        finally:
            if self._owned:
                self._file.close()

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _ZlibReader:
    """A minimal ``read(n)`` over a zlib-wrapped stream."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._z = zlib.decompressobj(15)
        self._buf = bytearray()
        self._eof = False

    def read(self, n: int) -> bytes:
        while len(self._buf) < n and not self._eof:
            chunk = self._raw.read(1 << 16)
            if chunk:
                self._buf += self._z.decompress(chunk)
            else:
                self._buf += self._z.flush()
                self._eof = True
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


def _read_exact(read, n: int) -> bytes:
    """Up to n bytes; a huge n (from a forged length) is read as the bytes arrive, not allocated."""
    if n <= _BIG_READ:
        return read(n)
    parts = []
    left = n
    while left:
        chunk = read(min(left, _BIG_READ))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def tf_record_iterator(
    path_or_file: PathOrFile,
    options: None | str | TFRecordOptions = None,
    verify: bool = True,
) -> Iterator[bytes]:
    """Yield each record's bytes.  With ``verify`` (default) both CRCs are checked.

    Raises ``TruncatedRecordError``, ``LengthCRCError`` or ``DataCRCError`` naming the file and the
    byte offset of the bad record (in the decompressed stream when compressed).  The length CRC is
    checked before the payload is read, so a corrupt length never allocates a huge buffer.
    """
    opts = TFRecordOptions.coerce(options)
    raw, name, owned = _open(path_or_file, "rb")
    try:
        if opts.compression_type == "GZIP":
            src = gzip.GzipFile(fileobj=raw, mode="rb")
        elif opts.compression_type == "ZLIB":
            src = _ZlibReader(raw)
        else:
            src = raw
        yield from _iter_frames(src.read, name, verify)
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, OSError) and opts.compression_type is None:
            raise
        where = raw.tell() if raw.seekable() else 0
        raise TruncatedRecordError(
            name,
            where,
            f"{opts.compression_type} stream is corrupt near this compressed offset: {exc}",
        ) from exc
    finally:
        if owned:
            raw.close()


def _iter_frames(read, name: str, verify: bool) -> Iterator[bytes]:
    unpack_header = _HEADER.unpack
    unpack_u32 = _U32.unpack
    offset = 0
    while True:
        header = read(12)
        if not header:
            return
        if len(header) < 12:
            raise TruncatedRecordError(
                name, offset, f"record header needs 12 bytes, the stream ends after {len(header)}"
            )
        length, length_crc = unpack_header(header)
        if verify and _masked(header[:8]) != length_crc:
            raise LengthCRCError(
                name,
                offset,
                f"stored {length_crc:#010x}, computed {_masked(header[:8]):#010x} "
                f"(the length field reads {length})",
            )
        data = _read_exact(read, length)
        footer = read(4)
        if len(data) < length or len(footer) < 4:
            raise TruncatedRecordError(
                name,
                offset,
                f"record of {length} bytes needs {length + 16} bytes, the stream ends after "
                f"{12 + len(data) + len(footer)}",
            )
        if verify:
            (data_crc,) = unpack_u32(footer)
            if _masked(data) != data_crc:
                raise DataCRCError(
                    name,
                    offset,
                    f"stored {data_crc:#010x}, computed {_masked(data):#010x} over {length} bytes",
                )
        yield data
        offset += length + 16
