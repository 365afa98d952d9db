"""Reading GZIP and ZLIB TFRecord streams: finding which one a file is, and inflating it while
keeping track of where, in the compressed bytes, the stream stands.

Why our own reader and not ``gzip.GzipFile``: a corrupt or cut-short stream must be reported with
the compressed offset where it broke (``gzip`` only says "Compressed file ended before the
end-of-stream marker"), and GZIP and ZLIB must follow one rule.  The rule: every record that
inflates whole is returned; a stream that ends before its end marker (cut at a flush point or
anywhere else), carries bytes deflate rejects, or is followed by stray bytes, is data loss.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from tfrecord_lite.format.crc import masked_crc

__all__ = ["detect_compression", "Inflater", "StreamBroken"]

_ZLIB_SECOND = (0x01, 0x5E, 0x9C, 0xDA)  # deflate, 32 K window, levels 0-1 / 2-5 / 6 / 7-9
_CHUNK = 1 << 16  # compressed bytes read at a time
_OUT = 1 << 22  # inflated bytes made at a time: a small bomb never fills memory at once


def detect_compression(head: bytes) -> str | None:
    """``None``, ``"GZIP"`` or ``"ZLIB"`` from a file's first 12 bytes.

    An uncompressed file starts with a length and its CRC; when that CRC holds, the file is
    plain even if its first bytes happen to look like a gzip or zlib header.
    """
    if len(head) >= 12 and masked_crc(head[:8]) == int.from_bytes(head[8:12], "little"):
        return None
    if head[:2] == b"\x1f\x8b":
        return "GZIP"
    if len(head) >= 2 and head[0] == 0x78 and head[1] in _ZLIB_SECOND:
        return "ZLIB"
    return None


@dataclass
class StreamBroken(Exception):
    """The compressed stream cannot go on; ``compressed_offset`` is where it broke."""

    compressed_offset: int
    reason: str


class Inflater:
    """``read(n)`` over a GZIP (several members allowed, as ``gzip`` writes them) or ZLIB stream.

    Raises ``StreamBroken`` when the stream is corrupt or ends early; an empty input is an empty
    stream (TensorFlow reads a zero-byte compressed file as no records).
    """

    def __init__(self, raw, kind: str) -> None:
        self._raw = raw
        self.kind = kind
        self._wbits = 31 if kind == "GZIP" else 15
        self._z = zlib.decompressobj(self._wbits)
        self._buf = bytearray()
        self._in = b""  # compressed bytes read but not consumed by the inflater yet
        self.compressed_offset = 0  # where ``_in`` starts in the compressed stream
        self._fresh = True  # the inflater has not been fed (the stream or a member starts)
        self._ended = False  # the last stream/member ended and nothing follows
        self._full = False  # the last call stopped at the output limit
        self._broken: StreamBroken | None = None  # raised once the good bytes are read

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes: fewer only at the end, or before a break (raised by the next
        read, once the good bytes are handed out)."""
        buf = self._buf
        while len(buf) < n and not self._ended:
            if self._broken is not None:
                if buf:
                    break
                raise self._broken
            self._inflate_some()
        out = bytes(buf[:n])
        del buf[:n]
        return out

    def _inflate_some(self) -> None:
        if not self._in and not self._full:
            self._in = self._raw.read(_CHUNK)
            if not self._in:
                if self._fresh:  # an empty file, or the end after a whole member
                    self._ended = True
                    return
                self._broken = StreamBroken(
                    self.compressed_offset,
                    f"the {self.kind} stream ends before its end marker (cut short: at a flush "
                    "point, mid-block, or while still being written)",
                )
                return
        z = self._z
        data = self._in
        before = z.copy()
        try:
            out = z.decompress(data, _OUT)
        except zlib.error as exc:
            # keep what inflated before the bad byte: the records in it are good
            where, good = self._locate(before, data)
            self._buf += good
            self._broken = StreamBroken(where, f"corrupt {self.kind} data ({exc})")
            return
        self._buf += out
        self._full = len(out) == _OUT  # zlib may hold more output for these same bytes
        self._fresh = False
        rest = z.unused_data if z.eof else z.unconsumed_tail
        self.compressed_offset += len(data) - len(rest)
        self._in = rest
        if z.eof:
            if self.kind == "ZLIB":
                if rest or self._raw.read(1):
                    self._broken = StreamBroken(
                        self.compressed_offset, "bytes follow the end of the ZLIB stream"
                    )
                else:
                    self._ended = True
            else:  # GZIP: what follows is the next member
                self._z = zlib.decompressobj(self._wbits)
                self._fresh = True

    def _locate(self, before, data: bytes) -> tuple[int, bytes]:
        """The compressed offset of the first byte deflate rejects, and what inflated before it
        (fed one byte at a time to a copy of the inflater as it was before this chunk; only on
        the error path)."""
        good = bytearray()
        for i in range(len(data)):
            try:
                good += before.decompress(data[i : i + 1])
            except zlib.error:
                return self.compressed_offset + i, bytes(good)
        return self.compressed_offset + len(data), bytes(good)
