"""TFRecord framing over any binary file object.  Moves bytes only: no protobuf here.

Each record is ``uint64 length (LE) | masked crc32c(length) | data | masked crc32c(data)``.
GZIP and ZLIB compress the whole stream, as ``tf.io.TFRecordOptions`` does.
"""

from __future__ import annotations

import errno
import glob
import os
import queue
import struct
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import IO, BinaryIO, Union

from tfrecord_lite.format._accel import ext as _ext
from tfrecord_lite.format.compression import Inflater, StreamBroken, detect_compression
from tfrecord_lite.format.crc import MASK_DELTA, crc32c, crc32c_unlocked, mask
from tfrecord_lite.format.crc import masked_crc as _masked
from tfrecord_lite.format.errors import (
    DataCRCError,
    DataLossError,
    LengthCRCError,
    RecordError,
    TruncatedRecordError,
)

__all__ = [
    "TFRecordOptions",
    "TFRecordWriter",
    "tf_record_iterator",
    "tf_record_batches",
    "detect_compression",
    "expand_paths",
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
_JOIN_BYTES = 1 << 16  # pieces for a file object are joined up to this size (see _SMALL)
_BUFFER = 1 << 20  # file buffer of the files we open

# Small records wait in a list and are framed a batch at a time: per-record Python work is what
# limits small records, and a batch does most of it in C.  The batch's framed bytes stay under
# glibc's mmap threshold (128 KiB), so its allocation reuses memory instead of faulting in fresh
# pages (on this project's VMs a 300 KB join costs ten times what ten 30 KB joins do).
_SMALL = 1024
_SMALL_BATCH = 64
_MANY_BATCH = 256  # write_many frames this many at a time (under 128 KiB when small)
_SMALL_HEADS: list[bytes] = []  # the head of every length below _SMALL, made on first use
_MASKS: dict[int, tuple[int, int, int, int]] = {}  # lane count -> _lane_masks (bounded)
_SPLITS: dict[int, Callable[[bytes], tuple]] = {}  # batch size (<= _MANY_BATCH) -> its unpack

# Our own files are written with os.writev: framed pieces are gathered, up to this many bytes or
# pieces, and the kernel copies straight from them (no join, no file-buffer copy; a bigger
# gather means fewer system calls, and on this project's VMs that pays up to a few MiB).
_GATHER_BYTES = 1 << 20
_GATHER_PIECES = 1000
_IOV_MAX = 1024  # pieces a call takes on Linux
_WRITEV = getattr(os, "writev", None)


def _head(n: int) -> bytes:
    """Length and masked length CRC: the first 12 bytes of a framed record."""
    header = _LEN.pack(n)
    head = header + _U32.pack(_masked(header))
    if len(_HEADS) < 65536:
        _HEADS[n] = head
    return head


def _lane_masks(n: int) -> tuple[int, int, int, int]:
    """``crc.mask``'s constants repeated in n 64-bit lanes (see ``_masked_lanes``)."""

    def repeat(value: int) -> int:
        return int.from_bytes(value.to_bytes(8, "little") * n, "little")

    masks = (
        repeat(0x1FFFF),  # the low 17 bits of each lane: where x >> 15 lands
        repeat(0xFFFE0000),  # bits 17..31: where x << 17 lands, below the lane's top half
        repeat(MASK_DELTA),
        repeat(0xFFFFFFFF),
    )
    if len(_MASKS) < 64:
        _MASKS[n] = masks
    return masks


def _masked_lanes(records: Sequence[bytes]) -> bytes:
    """The masked data CRC of every record, each in the first 4 bytes of an 8-byte lane: each
    CRC sits in a 64-bit lane of one big integer, so the rotate and add of ``crc.mask`` are a
    few big-integer operations for all of them."""
    n = len(records)
    low17, high15, delta, low32 = _MASKS.get(n) or _lane_masks(n)
    x = int.from_bytes(struct.pack(f"<{n}Q", *map(crc32c, records)), "little")
    x = ((((x >> 15) & low17) | ((x << 17) & high15)) + delta) & low32
    return x.to_bytes(8 * n, "little")


def _frame_small_py(records: Sequence[bytes], lengths: list[int] | None = None) -> bytes:
    """Frame a batch of records shorter than ``_SMALL`` bytes: the same bytes as framing each
    on its own, with the per-record work done in C."""
    if not _SMALL_HEADS:
        _SMALL_HEADS.extend(map(_head, range(_SMALL)))
    n = len(records)
    split = _SPLITS.get(n)
    if split is None:
        split = _SPLITS[n] = struct.Struct("<" + "4s4x" * n).unpack  # the lanes' CRCs
    pieces = [b""] * (3 * n)  # head, record, tail, ...: filled by slice, which is all C
    lengths = lengths or list(map(len, records))
    # itemgetter looks all the heads up in one C call (a map of __getitem__ costs twice that)
    pieces[0::3] = itemgetter(*lengths)(_SMALL_HEADS) if n > 1 else [_SMALL_HEADS[lengths[0]]]
    pieces[1::3] = records
    pieces[2::3] = split(_masked_lanes(records))
    return b"".join(pieces)


def _frame_small_c(records: Sequence[bytes], lengths: list[int] | None = None) -> bytes:
    """``_frame_small`` by the C core (``_speedups.frame``): the same bytes, one C call."""
    return _c_frame(records)


# The C core's framing, where it is built (else None); _frame_small_py and the walk of
# _frame_batches stay the pure-Python reference (tests patch these two names to compare them)
_c_frame = _ext.frame if _ext is not None else None
_walk = _ext.walk if _ext is not None else None
_frame_small = _frame_small_c if _c_frame is not None else _frame_small_py


def _writev_all(fd: int, pieces: list[bytes]) -> None:
    """Write every piece, in order: at most ``_IOV_MAX`` a call, going on after a short write
    (a signal, a nearly full disk)."""
    for i in range(0, len(pieces), _IOV_MAX):
        batch = pieces[i : i + _IOV_MAX]
        while True:
            done = _WRITEV(fd, batch)
            if done == sum(map(len, batch)):
                break
            while done >= len(batch[0]):
                done -= len(batch.pop(0))
            batch[0] = memoryview(batch[0])[done:]


class _WriteBehind:
    """A helper thread that writes gathered pieces to a file descriptor, one gather at a time and
    in order, while the writer frames the next: the kernel's copy into the page cache overlaps
    the CRC work (which releases the GIL for records of ``_SMALL`` bytes or more).

    An error of the helper's write is raised by the writer's next hand-on, ``flush`` or ``close``.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._todo: queue.SimpleQueue[list[bytes] | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(1)  # taken while a gather is being written
        self._error: BaseException | None = None
        self._pid = os.getpid()
        threading.Thread(target=self._run, name="tfrecord_lite writer", daemon=True).start()

    def _run(self) -> None:
        while True:
            pieces = self._todo.get()
            if pieces is None:
                return
            try:
                _writev_all(self._fd, pieces)
            except BaseException as exc:  # for the writer's thread to raise
                self._error = exc
            self._idle.release()

    def write(self, pieces: list[bytes], last: bool) -> None:
        """Queue ``pieces`` after the gather being written; ``last``: write them here, now."""
        if os.getpid() != self._pid:  # a forked copy of the writer: the helper stayed behind
            raise RuntimeError("a TFRecordWriter cannot be used across fork()")
        self._idle.acquire()
        error, self._error = self._error, None
        if error is not None or last:
            try:
                if error is not None:
                    raise error
                _writev_all(self._fd, pieces)
            finally:
                self._idle.release()
        else:
            self._todo.put(pieces)

    def stop(self) -> None:
        if os.getpid() == self._pid:
            self._todo.put(None)


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


def _open_fd(path: str | os.PathLike, offset: int | None) -> int:
    """A descriptor for writing ``path``: emptied, or kept and positioned at ``offset``."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags if offset is not None else flags | os.O_TRUNC, 0o666)
    if offset:
        try:
            os.lseek(fd, offset, os.SEEK_SET)
        except BaseException:
            os.close(fd)
            raise
    return fd


def _open(
    path_or_file: PathOrFile, mode: str, offset: int | None = None
) -> tuple[BinaryIO, str, bool]:
    """A binary file, a name for messages, and whether we own (and must close) it.  With
    ``offset`` (writing a path), the file is kept and positioned there (``_open_fd``)."""
    if isinstance(path_or_file, (str, os.PathLike)):
        target = path_or_file if offset is None else _open_fd(path_or_file, offset)
        # writing: a 1 MiB buffer, so small records reach the kernel in large writes; reading:
        # none, as the reader asks for a MiB at a time (a buffer would copy every byte twice)
        buffering = 0 if mode == "rb" else _BUFFER
        return open(target, mode, buffering=buffering), os.fspath(path_or_file), True
    name = getattr(path_or_file, "name", None)
    return path_or_file, str(name) if isinstance(name, (str, bytes)) else "<stream>", False


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
    """Writes framed records to a path or a binary file object, like ``tf.io.TFRecordWriter``.

    Framed pieces are gathered and handed on together: a file we opened ourselves gets them with
    one ``os.writev`` per MiB (the kernel copies straight from the records), a file object or the
    compressor gets them joined.  Small records are framed a batch at a time.  Bytes reach the
    file at ``flush()``/``close()``, and whenever enough has gathered in between.  Records are
    kept by reference until then, so anything but ``bytes`` is copied first.
    """

    def __init__(
        self,
        path_or_file: PathOrFile,
        options: None | str | TFRecordOptions = None,
        *,
        offset: int | None = None,
        at_once: bool = False,
    ) -> None:
        """``offset``: write from that byte of the file at ``path_or_file``, keeping the rest
        of it (created if missing), so that several processes can each write their byte range
        of one file.  Only for a path, without compression.

        ``at_once``: each large record goes to the file as it is written, from this thread, for a
        caller that has just read the record's large pieces: the kernel copies them while they
        are still in the CPU's cache (gathered by the MiB and written by the helper thread, they
        are fetched from memory again, which cost the converter a third of its CPU time)."""
        self._closed = True  # until the file is open: close() and __del__ have nothing to do
        self._at_once = at_once
        self.options = TFRecordOptions.coerce(options)
        if offset is not None and (
            not isinstance(path_or_file, (str, os.PathLike)) or self.options.compression_type
        ):
            raise ValueError("offset needs a path and no compression")
        self._small: list[bytes] = []  # small records not framed yet
        self._pieces: list[bytes] = []  # framed bytes not handed on yet
        self._gathered = 0  # their size, about
        self._fd = -1
        self._behind: _WriteBehind | None = None
        self._file: BinaryIO | None = None
        self._compressor: _Compressor | None = None
        if (
            isinstance(path_or_file, (str, os.PathLike))
            and _WRITEV is not None
            and not self.options.compression_type
        ):
            self._fd = _open_fd(path_or_file, offset)
            self.name, self._owned = os.fspath(path_or_file), True
            self._limit = _GATHER_BYTES
        else:
            self._file, self.name, self._owned = _open(path_or_file, "wb", offset)
            self._out = self._file.write
            if self.options.compression_type:
                self._compressor = _Compressor(self._file, self.options)
                self._out = self._compressor.write
            self._limit = _JOIN_BYTES
        self._closed = False

    def write(self, record: bytes) -> None:
        """Append one record."""
        if self._closed:
            raise ValueError(f"write to a closed TFRecordWriter ({self.name})")
        if type(record) is not bytes:
            record = bytes(record)  # a snapshot: the caller may reuse its buffer before we write
        n = len(record)
        if n < _SMALL:
            small = self._small
            small.append(record)
            if len(small) == _SMALL_BATCH:
                self._drain()
            return
        if self._small:
            self._drain()
        c = crc32c_unlocked(record)
        pieces = self._pieces
        pieces += (
            _HEADS.get(n) or _head(n),
            record,
            _pack_u32(mask(c)),
        )
        self._added(n)

    def write_parts(self, parts: Sequence[bytes]) -> None:
        """Append one record given in pieces: the same as ``write(b"".join(parts))`` without
        joining them (a large record is not copied)."""
        if self._closed:
            raise ValueError(f"write to a closed TFRecordWriter ({self.name})")
        n = sum(map(len, parts))
        if n < _SMALL:
            self.write(b"".join(parts))
            return
        if self._small:
            self._drain()
        c = 0
        for part in parts:
            c = crc32c_unlocked(part, c)
        pieces = self._pieces
        pieces.append(_HEADS.get(n) or _head(n))
        pieces += [p if type(p) is bytes else bytes(p) for p in parts]
        pieces.append(_pack_u32(mask(c)))
        self._added(n)

    def write_many(self, records: Iterable[bytes]) -> None:
        """Append many records: faster than calling ``write`` for each."""
        if self._closed:
            raise ValueError(f"write to a closed TFRecordWriter ({self.name})")
        if self._small:
            self._drain()
        n = _MANY_BATCH
        if isinstance(records, (list, tuple)):
            batches: Iterable[Sequence[bytes]] = (
                records[i : i + n] for i in range(0, len(records), n)
            )
        else:
            it = iter(records)
            batches = iter(lambda: list(islice(it, n)), [])
        for batch in batches:
            lengths = list(map(len, batch))
            if max(lengths) < _SMALL:
                if self._small:  # left by a batch with large records
                    self._drain()
                # framed right here (nothing is kept by reference), so any bytes-like will do
                self._put(_frame_small(batch, lengths))
            else:
                for record in batch:
                    self.write(record)

    def _drain(self) -> None:
        """Frame the small records still waiting."""
        framed = _frame_small(self._small)
        self._small = []
        self._put(framed)

    def _put(self, framed: bytes) -> None:
        self._pieces.append(framed)
        self._added(len(framed))

    def _added(self, n: int) -> None:
        """Count ``n`` more gathered bytes, and hand the gather on when it is full."""
        self._gathered += n
        if (self._gathered >= self._limit or len(self._pieces) >= _GATHER_PIECES
                or self._at_once):
            self._hand_on()

    def _hand_on(self, last: bool = False) -> None:
        """Give the gathered pieces to the file (or the compressor).  A file we own is written
        by a helper thread while we go on framing; ``last`` waits for it and writes the rest here.
        """
        pieces, self._pieces, self._gathered = self._pieces, [], 0
        last = last or self._at_once
        if self._fd >= 0:
            if self._behind is None:
                if last:
                    _writev_all(self._fd, pieces)
                    return
                self._behind = _WriteBehind(self._fd)
            self._behind.write(pieces, last)
        elif not pieces:
            return
        elif len(pieces) == 1 or sum(map(len, pieces)) > _JOIN_BYTES:
            for piece in pieces:  # a big record: not copied into a joined string
                self._out(piece)
        else:
            self._out(b"".join(pieces))

    def flush(self) -> None:
        """Hand everything written so far to the operating system (as ``tf.io`` does)."""
        if self._closed:
            raise ValueError(f"flush of a closed TFRecordWriter ({self.name})")
        if self._small:
            self._drain()
        self._hand_on(last=True)
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._small:
                self._drain()
            self._hand_on(last=True)
            if self._compressor is not None:
                self._compressor.finish()
            if self._file is not None:
                self._file.flush()
        finally:
            if self._owned:
                if self._fd >= 0:
                    if self._behind is not None:
                        self._behind.stop()
                    os.close(self._fd)
                else:
                    self._file.close()

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # a writer dropped without close() still writes what it holds, as a Python file does
        if not getattr(self, "_closed", True):
            self.close()


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


Sources = Union[PathOrFile, "Sequence[str | os.PathLike[str]]"]  # one, a list, or a glob


def expand_paths(paths: Sources) -> list:
    """The files ``paths`` names: one path or file object, a list of paths, or a glob pattern
    (``*``, ``?``, ``[``) when no file has that very name; sorted, as ``tf.io.gfile.glob``."""
    if isinstance(paths, (list, tuple)):
        out: list = []
        for p in paths:
            out += expand_paths(p)
        return out
    if isinstance(paths, (str, os.PathLike)):
        text = os.fspath(paths)
        if any(c in text for c in "*?[") and not os.path.exists(text):
            found = sorted(glob.glob(text))
            if not found:
                raise FileNotFoundError(errno.ENOENT, "no file matches the pattern", text)
            return found
    return [paths]


def reader_compression(options: None | str | TFRecordOptions, compression: str | None) -> str:
    """The reader's compression: ``"auto"``, ``""``, ``"GZIP"`` or ``"ZLIB"``."""
    chosen = compression if compression is not None else options
    if isinstance(chosen, str) and chosen.lower() == "auto":
        return "auto"
    return TFRecordOptions.coerce(chosen).compression_type or ""


def tf_record_iterator(
    path_or_file: Sources,
    options: None | str | TFRecordOptions = None,
    verify: bool = True,
    *,
    compression: str | None = None,
) -> Iterator[bytes]:
    """Yield each record's bytes, of one file, a list of files or a glob pattern, in order.

    ``compression`` (or ``options``): ``None``, ``"GZIP"``, ``"ZLIB"``, or ``"auto"`` to find it
    from each file's first bytes.  With ``verify`` (default) both CRCs are checked.

    Raises ``TruncatedRecordError``, ``LengthCRCError`` or ``DataCRCError`` naming the file and the
    byte offset where the bad record starts (in the decompressed stream when compressed), and
    ``DataLossError`` for a corrupt or cut-short GZIP/ZLIB stream.  The length CRC is checked
    before the payload is read, so a corrupt length never allocates a huge buffer.
    """
    for batch in tf_record_batches(path_or_file, options, verify, compression=compression):
        yield from batch


def tf_record_batches(
    path_or_file: Sources,
    options: None | str | TFRecordOptions = None,
    verify: bool = True,
    *,
    compression: str | None = None,
) -> Iterator[list[bytes]]:
    """The records of ``tf_record_iterator``, as lists of up to a MiB of records at a time:
    the fastest way to read small records (less work per record in Python).  Same arguments,
    same checks and errors; the records before a bad one come first."""
    kind = reader_compression(options, compression)
    for source in expand_paths(path_or_file):
        yield from _file_batches(source, kind, verify)


def _file_batches(path_or_file: PathOrFile, kind: str, verify: bool) -> Iterator[list[bytes]]:
    raw, name, owned = _open(path_or_file, "rb")
    try:
        if kind == "auto":
            raw, head = _peek(raw, 12)
            kind = detect_compression(head) or ""
        if kind:
            src = Inflater(raw, kind)
            try:
                yield from _frame_batches(src.read, name, verify)
            except _Broken as exc:
                broken = exc.__cause__
                assert isinstance(broken, StreamBroken)
                raise DataLossError(
                    name,
                    exc.offset,
                    f"{broken.reason} at compressed byte {broken.compressed_offset}; the records "
                    f"before decompressed byte {exc.offset} are good",
                    broken.compressed_offset,
                ) from None
        else:
            try:
                yield from _frame_batches(raw.read, name, verify)
            except (LengthCRCError, TruncatedRecordError) as exc:
                if exc.offset or not raw.seekable():
                    raise
                raise _not_a_tfrecord(exc, raw) from None
    finally:
        if owned:
            raw.close()


def _not_a_tfrecord(exc: RecordError, raw: BinaryIO) -> RecordError:
    """The error about a file whose first record is bad, saying what the file looks like."""
    from tfrecord_lite.format.sniff import SNIFF_BYTES, describe

    raw.seek(0)
    what = describe(raw.read(SNIFF_BYTES))
    if what is None:
        return exc
    out = type(exc)(exc.path, 0, f"{exc.detail}; not a TFRecord file? it looks like {what}")
    out.looks_like = what
    return out


class _Prefixed:
    """``read(n)`` serving ``head`` first, then the rest of a stream that cannot seek back."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self._head = head
        self._raw = raw
        self.name = getattr(raw, "name", None)

    def read(self, n: int = -1) -> bytes:
        head = self._head
        if not head:
            return self._raw.read(n)
        if n is None or n < 0:
            self._head = b""
            return head + self._raw.read()
        self._head = head[n:]
        out = head[:n]
        if len(out) < n:
            out += self._raw.read(n - len(out))
        return out

    def close(self) -> None:
        self._raw.close()


def _peek(raw: BinaryIO, n: int) -> tuple[BinaryIO, bytes]:
    """The first ``n`` bytes, and a stream that still starts at them."""
    if raw.seekable():
        at = raw.tell()
        head = raw.read(n)
        raw.seek(at)
        return raw, head
    head = raw.read(n)
    return _Prefixed(head, raw), head


class _Broken(Exception):
    """A ``StreamBroken`` seen by the frame walker, with the offset of the record it stopped."""

    def __init__(self, offset: int) -> None:
        self.offset = offset


_READ_CHUNK = 1 << 20  # bytes read at a time when streaming records
# Runs of at least _MIN_RUN records of _SMALL to _RUN_MAX bytes are cut out by one unpack
# (_cut_checked): a shorter run saves nothing, and larger records cost far more in copy and CRC
# than in Python work
_MIN_RUN = 8
_RUN_MAX = 1 << 16
_GOOD_HEADS: dict[bytes, int] = {}  # 12 header bytes whose length CRC holds -> the length


def _iter_frames(
    read, name: str, verify: bool, offset: int = 0, chunk: int = _READ_CHUNK
) -> Iterator[bytes]:
    """The records of a stream positioned at ``offset`` (its byte offset, for messages)."""
    for batch in _frame_batches(read, name, verify, offset, chunk):
        yield from batch


def _frame_batches(
    read, name: str, verify: bool, offset: int = 0, chunk: int = _READ_CHUNK
) -> Iterator[list[bytes]]:
    """The records of a stream positioned at ``offset``, a ``chunk`` of bytes at a time.

    A chunk holding only records of one length is cut up and checked in C
    (``_same_length_run``, ``_run_good``).  Otherwise, per record, the Python work is reading
    its length and slicing its data out: both CRCs of the records a chunk holds whole are
    checked afterwards, a batch at a time (``_checked``); when a run of records of 1 KiB to
    64 KiB starts the chunk, only their lengths are read here, and one unpack cuts the run out
    (``_cut_checked``).  Only a record the chunk cuts has its length CRC checked first, before
    its length decides what is read next.  The records before a bad one are yielded before the
    error is raised, and every error names the offset where the bad record starts.
    """
    unpack = _LEN.unpack_from
    buf = b""
    pos = 0  # where the next record starts in buf
    base = offset  # the stream offset of buf[0]
    try:
        while True:
            rest = len(buf) - pos
            if rest:  # complete the record cut by the chunk's end, then read on from there
                need = 12 - rest if rest < 12 else unpack(buf, pos)[0] + 16 - rest
                more = read(need)
                if not more:
                    _truncated(buf[pos:], name, base + pos)
                buf = buf[pos:] + more
            else:
                more = read(chunk)
                if not more:
                    return
                buf = more
            base += pos
            n = len(buf)
            if _walk is not None:
                # the C core takes every whole record whose CRCs hold; the walk below then
                # meets only the record it stopped at: one the chunk cuts (read on as usual)
                # or a bad one (whose error the walk raises, as the pure path would)
                good, pos, _ = _walk(buf, 0, verify)
                if good:
                    yield good
                out, lengths, first = [], [], pos
            else:
                out, lengths, pos = _same_length_run(buf)
                first = 0  # where the records in out start
                if out and verify and _run_good(out, buf, pos):
                    yield out  # checked: what follows the run is walked as usual
                    out, lengths, first = [], [], pos
                if verify and not out:
                    # a run of large records: only their lengths are walked here, and
                    # _cut_checked cuts them out and checks both CRCs of all of them in C
                    run, end = _large_run(buf, pos)
                    if len(run) >= _MIN_RUN:
                        yield _cut_checked(buf, pos, run, name, base)
                        first = pos = end
            add = out.append
            add_length = lengths.append
            try:
                while True:  # up to the first record buf does not hold whole
                    length = unpack(buf, pos)[0]
                    end = pos + length + 16
                    if end > n:
                        break
                    add(buf[pos + 12 : end - 4])
                    add_length(length)
                    pos = end
            except struct.error:
                pass  # fewer than 8 bytes left
            if out:
                yield _checked(out, lengths, buf, verify, name, base, first)
            if n - pos < 12:
                continue  # the next read completes the header
            head = buf[pos : pos + 12]
            if verify:
                _check_head(head, name, base + pos)
            if length < chunk:
                continue  # the next read completes it
            # a record larger than a chunk: the rest of it is read straight in
            have = min(n - pos - 12, length)
            tail = _read_exact(read, length - have)
            data = buf[pos + 12 : pos + 12 + have] + tail if tail else buf[pos + 12 :]
            foot = buf[pos + 12 + length : pos + 16 + length]
            foot += read(4 - len(foot))
            if len(data) < length or len(foot) < 4:
                _truncated(head + data + foot, name, base + pos)
            yield _checked_one(data, foot, verify, name, base + pos)
            base += pos + length + 16
            buf, pos = b"", 0
    except _BadAfter as bad:
        if bad.good:
            yield bad.good
        raise bad.error from None
    except StreamBroken as exc:
        raise _Broken(base + pos) from exc


def _same_length_run(buf: bytes) -> tuple[list[bytes], list[int], int]:
    """The records at the start of ``buf``, their lengths and where they end, when it holds
    nothing but records of one length, as files of fixed-size records do (else none: the walk
    reads them one by one).  They are the records the walk would give, unpacked at the
    stride in C; twelve strided slices prove that every header is the first one (nothing else
    is assumed: the CRCs are checked as usual)."""
    if len(buf) < 12:
        return [], [], 0
    (length,) = _LEN.unpack_from(buf)
    stride = length + 16
    count = len(buf) // stride
    end = count * stride
    if count < 2 or any(buf[j:end:stride] != buf[j : j + 1] * count for j in range(12)):
        return [], [], 0
    frame = struct.Struct(f"12x{length}s4x")  # one record: its data between head and tail
    return [r for (r,) in frame.iter_unpack(memoryview(buf)[:end])], [length] * count, end


def _large_run(buf: bytes, pos: int) -> tuple[list[int], int]:
    """The lengths of the records of ``_SMALL`` to ``_RUN_MAX`` bytes that ``buf`` holds whole
    from ``pos`` on, up to the first other or cut one, and where they end."""
    unpack = _LEN.unpack_from
    n = len(buf)
    lengths: list[int] = []
    add = lengths.append
    try:
        while True:
            length = unpack(buf, pos)[0]
            end = pos + length + 16
            if end > n or not _SMALL <= length < _RUN_MAX:
                return lengths, pos
            add(length)
            pos = end
    except struct.error:  # fewer than 8 bytes left
        return lengths, pos


def _cut_checked(
    buf: bytes, at: int, lengths: list[int], name: str, start: int
) -> list[bytes]:
    """The records of ``lengths`` framed in ``buf`` from ``at``, once both CRCs of each hold
    (else ``_checked``'s error about the first bad one).  One unpack cuts every header, CRC
    and record out in C, and the CRCs are compared a lane at a time (``_lanes_hold``): for
    records of many lengths, the Python work per record is walking its length alone."""
    layout = "<8s4s" + "s4s8s4s".join(map(str, lengths)) + "s4s"  # head, CRC, record, CRC...
    fields = struct.unpack_from(layout, buf, at)
    records = list(fields[2::4])
    if _lanes_hold(fields[0::4], b"".join(fields[1::4])) and _lanes_hold(
        records, b"".join(fields[3::4])
    ):
        return records
    return _checked(records, lengths, buf, True, name, start, at)


def _lanes_hold(
    data: Sequence[bytes], stored: bytes, first: int = 0, step: int = 4, end: int | None = None
) -> bool:
    """Whether ``stored`` holds the masked CRC of each of ``data``, in order, at ``first``,
    ``first + step``, ... (before ``end``): each of its 4 bytes is compared as one strided
    column, with no loop over the records."""
    lanes = _masked_lanes(data)
    return all(stored[first + c : end : step] == lanes[c::8] for c in range(4))


def _run_good(records: list[bytes], buf: bytes, end: int) -> bool:
    """Whether a run of ``_same_length_run`` holds all its CRCs, checked with no loop over
    the records: its headers are all the first one, and each of the 4 bytes of the data CRCs
    is compared as one strided column.  (False: ``_checked`` finds the bad record.)"""
    try:
        _check_head(buf[:12], "", 0)
    except LengthCRCError:
        return False
    stride = len(records[0]) + 16
    return _lanes_hold(records, buf, stride - 4, stride, end)


def _check_head(head: bytes, name: str, offset: int) -> None:
    """Raise ``LengthCRCError`` unless the 12 header bytes ``head`` hold their length CRC
    (a header seen good is remembered: headers repeat)."""
    if head in _GOOD_HEADS:
        return
    length, stored = _HEADER.unpack(head)
    computed = _masked(head[:8])
    if computed != stored:
        raise LengthCRCError(
            name,
            offset,
            f"stored {stored:#010x}, computed {computed:#010x} (the length field reads {length})",
        )
    if len(_GOOD_HEADS) < 65536:
        _GOOD_HEADS[head] = length


def _truncated(rest: bytes, name: str, offset: int) -> None:
    """Raise for a stream that ends inside the record starting ``rest``."""
    if len(rest) < 12:
        raise TruncatedRecordError(
            name, offset, f"record header needs 12 bytes, the stream ends after {len(rest)}"
        )
    (length,) = _LEN.unpack_from(rest)
    raise TruncatedRecordError(
        name,
        offset,
        f"record of {length} bytes needs {length + 16} bytes, the stream ends after {len(rest)}",
    )


def _checked(
    records: list[bytes],
    lengths: list[int],
    framed: bytes,
    verify: bool,
    name: str,
    start: int,
    first: int = 0,
) -> list[bytes]:
    """``records`` (of ``lengths``), once their headers and data CRCs match ``framed`` (the
    bytes they were read from, at stream offset ``start``, the first record at ``first``);
    else raise the error about the first bad one, after the good ones before it."""
    if verify:
        bad = _first_bad(records, lengths, framed, name, start, first)
        if bad is not None:
            raise _BadAfter(records[: bad[0]], bad[1])
    return records


def _checked_one(data: bytes, foot: bytes, verify: bool, name: str, offset: int) -> list[bytes]:
    """A large record read on its own (its header checked), once its data CRC matches ``foot``."""
    if verify and _pack_u32(_masked(data)) != foot:
        raise _data_crc_error(name, offset, _U32.unpack(foot)[0], data)
    return [data]


def _data_crc_error(name: str, offset: int, stored: int, record: bytes) -> DataCRCError:
    computed = _masked(record)
    return DataCRCError(
        name, offset, f"stored {stored:#010x}, computed {computed:#010x} over {len(record)} bytes"
    )


class _BadAfter(Exception):
    """Internal: the good records of a batch, then the error about the next one."""

    def __init__(self, good: list[bytes], error: RecordError) -> None:
        self.good = good
        self.error = error


def _first_bad(
    records: list[bytes], lengths: list[int], framed: bytes, name: str, start: int, at: int
) -> tuple[int, RecordError] | None:
    """(index, error) of the first record of ``_checked`` whose header or data CRC is wrong.

    Small records are checked 64 at a time by framing them again (the writer's ``_frame_small``:
    C work only) and comparing with the bytes read, which checks both CRCs; larger ones, and a
    group that differs, one by one, the header first."""
    for i in range(0, len(records), _SMALL_BATCH):
        group = lengths[i : i + _SMALL_BATCH]
        size = sum(group) + FRAME_OVERHEAD * len(group)
        if max(group) < _SMALL and framed.startswith(
            _frame_small(records[i : i + _SMALL_BATCH], group), at
        ):
            at += size
            continue
        for j, record in enumerate(records[i : i + _SMALL_BATCH], i):
            try:
                _check_head(framed[at : at + 12], name, start + at)
            except LengthCRCError as exc:
                return j, exc
            end = at + 12 + len(record)
            foot = framed[end : end + 4]
            if _pack_u32(_masked(record)) != foot:
                return j, _data_crc_error(name, start + at, _U32.unpack(foot)[0], record)
            at = end + 4
    return None
