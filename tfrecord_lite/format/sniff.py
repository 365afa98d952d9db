"""What a file that is not a TFRecord file looks like, from its first bytes, so that a reader can
say "looks like JSON Lines" instead of "the length field reads 7305808869231633019"."""

from __future__ import annotations

from tfrecord_lite.format.compression import detect_compression

__all__ = ["SNIFF_BYTES", "describe"]

SNIFF_BYTES = 4096  # how much of a file ``describe`` wants

# leading bytes -> what they are (checked in order)
_MAGIC = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"RIFF", "a RIFF file (WAV, WebP, AVI)"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"BZh", "a BZIP2 stream (decompress it first)"),
    (b"\xfd7zXZ\x00", "an XZ stream (decompress it first)"),
    (b"\x28\xb5\x2f\xfd", "a Zstandard stream (decompress it first)"),
    (b"\x04\x22\x4d\x18", "an LZ4 frame (decompress it first)"),
    (b"PAR1", "a Parquet file"),
    (b"\x93NUMPY", "a numpy .npy array"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"ARROW1", "an Arrow IPC file"),
)


def describe(head: bytes) -> str | None:
    """What ``head`` (a file's first bytes) looks like, or None when it looks like nothing known
    (for example because it is a TFRecord file, or a damaged one)."""
    kind = detect_compression(head[:12])
    if kind is not None:
        return f"a {kind} stream (read it with compression={kind!r} or 'auto')"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if len(head) > 262 and head[257:262] == b"ustar":
        return "a tar archive"
    return _text(head)


def _text(head: bytes) -> str | None:
    """JSON, JSON Lines, CSV or plain text, when the bytes are printable UTF-8."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut by the end of ``head``
            return None
        text = head[: exc.start].decode("utf-8")
    if not text or any(not (c.isprintable() or c in "\t\r\n") for c in text):
        return None
    stripped = text.lstrip("\ufeff \t\r\n")
    lines = [line for line in stripped.splitlines() if line.strip()]
    if stripped.startswith("{"):
        complete = lines[:-1] if len(lines) > 1 else lines
        if len(lines) > 1 and all(line.lstrip().startswith("{") for line in complete):
            if all(line.rstrip().endswith("}") for line in complete):
                return "JSON Lines text"
        return "JSON text"
    if stripped.startswith("["):
        return "JSON text"
    if stripped.startswith("<"):
        return "XML or HTML text"
    if len(lines) > 1 and lines[0].count(",") >= 1 and lines[0].count(",") == lines[1].count(","):
        return "CSV text"
    return "text"
