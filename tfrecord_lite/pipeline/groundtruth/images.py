"""Images: ``source-ref`` -> a file under the images folder, header size, EXIF, output names.

The folder is listed once; each reference is then resolved with set lookups (longest key suffix
first, then a unique file name anywhere), so a manifest of a million lines costs no per-line
directory walks.  Nothing outside the images folder is ever opened, symlinks included, and
nothing inside a dataset this program wrote there.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tfrecord_lite.format._accel import ext as _ext
from tfrecord_lite.pipeline import decodable
from tfrecord_lite.pipeline.errors import InputError, problem
from tfrecord_lite.pipeline.groundtruth.headers import Header, clear_orientation, sniff
from tfrecord_lite.pipeline.publish import written_here

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://(.*)", re.DOTALL)
_ORIENTATION = 0x0112
_SWAPPING = frozenset({5, 6, 7, 8})


#: Pillow's own decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``), without importing Pillow
PILLOW_MAX_PIXELS = 1024 * 1024 * 1024 // 4 // 3
_TAIL = 1 << 10  # the end markers are looked for in the last KiB: some writers pad after them
_ENDS = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82"}


@dataclass(frozen=True)
class ImageChecks:
    """What is checked of every image before it is stored, so a training run does not find it
    broken mid-epoch.  The default costs one read of the file's last KiB: a JPEG must end with
    its end-of-image marker and a PNG with its IEND chunk, which catches files cut short (the
    usual damage).  ``full_decode`` also decodes every pixel, which finds damage inside the
    data as well, at the price of a decode per image.  ``max_pixels`` refuses decompression
    bombs: a small file that decodes to gigabytes."""

    max_pixels: int = PILLOW_MAX_PIXELS
    full_decode: bool = False


#: How ``ImageReader`` hands an image on: its bytes, re-encoded upright (labels drawn on the
#: EXIF-rotated view), or its bytes with the EXIF orientation cleared (labels on the raw frame)
AS_STORED, UPRIGHT, RAW_FRAME = 0, 1, 2


@dataclass(frozen=True)
class ImageHeader:
    """What the header says, in the upright frame: size, whether EXIF requires a re-encode, and
    why ModelPack could not decode the file as it is (``decodable.reason``)."""

    width: int
    height: int
    reencode: int  # AS_STORED, UPRIGHT (EXIF rotates it) or RAW_FRAME (its tag to be cleared)
    stored_bytes: int | None = None  # the file's size: the image bytes, unless re-encoded
    format: str | None = "JPEG"  # as Pillow names it
    convert: str | None = None  # why it must become RGB JPEG/PNG; None: it decodes as it is
    orientation: int = 1  # EXIF orientation (2-8 rotate or mirror the stored pixels)
    file_bytes: int = 0

    @property
    def raw_size(self) -> tuple[int, int]:
        """Width and height of the pixels as stored, before the orientation is applied."""
        swapped = self.orientation in _SWAPPING
        return (self.height, self.width) if swapped else (self.width, self.height)

    def raw_frame(self) -> ImageHeader:
        """The same image taken as stored, its orientation tag cleared (same length)."""
        width, height = self.raw_size
        return ImageHeader(width, height, RAW_FRAME, self.file_bytes, self.format,
                           self.convert, self.orientation, self.file_bytes)


class ImageIndex:
    """One listing of the images folder: relative POSIX paths and file name -> paths.

    :meth:`resolve` hands back the listing's own path strings (relative to :attr:`root`), so a
    hundred thousand samples do not each carry a separate absolute path.
    """

    def __init__(self, root: Path) -> None:
        self.root = os.path.abspath(root)
        if not os.path.isdir(self.root):
            raise InputError(str(root), 0, "images folder does not exist or is not a folder",
                             hint="pass the folder that holds the images", reason="no-images-dir")
        self.real_root = os.path.realpath(self.root)
        self.files: dict[str, str] = {}   # relative path -> the same (canonical) string
        self.links: set[str] = set()   # files reached through a symlink: checked with realpath
        self.by_name: dict[str, str | list[str]] = {}   # file name -> path, or paths when shared
        self._walk(self.root, "")

    def full(self, stored: str) -> str:
        """The absolute path of what :meth:`resolve` returned (relative or already absolute)."""
        return os.path.join(self.root, stored)

    def _same_name(self, name: str) -> list[str]:
        found = self.by_name.get(name)
        return [] if found is None else [found] if isinstance(found, str) else found

    def _walk(self, folder: str, prefix: str) -> None:
        try:
            entries = os.scandir(folder)  # iterated as it reads: no list of 100,000 entries
        except OSError:
            return
        with entries:
            self._add_entries(entries, prefix)

    def _add_entries(self, entries: Iterator[os.DirEntry], prefix: str) -> None:
        for entry in entries:
            rel = prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not written_here(entry.path):  # a dataset of ours is no input
                        self._walk(entry.path, rel + "/")
                elif entry.is_file():
                    self.files[rel] = rel
                    known = self.by_name.get(entry.name)
                    if known is None:
                        self.by_name[entry.name] = rel
                    elif isinstance(known, str):
                        self.by_name[entry.name] = [known, rel]
                    else:
                        known.append(rel)
                    if entry.is_symlink():
                        self.links.add(rel)
            except OSError:
                continue

    def resolve(self, ref: str, what: str = "image") -> tuple[str, str]:
        """``(relative path, stored path)`` of the file a reference names, or an InputError.

        The stored path is relative to :attr:`root` or absolute (symlinks resolved); open it
        with :meth:`full`.
        """
        parts, local_abs = _split_ref(ref)
        if ".." in parts:
            raise _escape(ref, what)
        if local_abs is not None:
            return self._resolve_absolute(local_abs, ref, what)
        parts = [p for p in parts if p not in ("", ".")]
        if not parts:
            raise problem(f"{what} reference names no file", value=ref,
                          hint="expected s3://bucket/key, https://... or a relative path",
                          reason=f"missing-{what}")
        suffixes = ["/".join(parts[i:]) for i in range(len(parts))]
        for rel in suffixes:
            known = self.files.get(rel)
            if known is not None:
                return self._checked(known, ref, what, known in self.links)
        for rel in suffixes:  # folders reached through symlinks are not in the listing
            if os.path.isfile(os.path.join(self.root, rel)) and not self._in_ours(rel):
                return self._checked(rel, ref, what, True)
        same_name = self._same_name(parts[-1])
        if len(same_name) == 1:
            rel = same_name[0]
            return self._checked(rel, ref, what, rel in self.links)
        if same_name:
            raise problem(
                f"{what} file name {parts[-1]!r} matches {len(same_name)} files and no longer "
                "part of the key matches", value=ref,
                hint=f"candidates: {', '.join(sorted(same_name)[:5])}; mirror the S3 key "
                "layout under the images folder", reason=f"ambiguous-{what}")
        raise problem(f"{what} not found under {self.root}", value=ref,
                      hint="looked for the key, its shorter suffixes and the file name; "
                      "copy the file there or point to the right images folder",
                      reason=f"missing-{what}")

    def _resolve_absolute(
        self, local: str, ref: str, what: str
    ) -> tuple[str, str]:
        real = os.path.realpath(local)
        if not _inside(real, self.real_root):
            raise _escape(ref, what)
        rel = os.path.relpath(real, self.real_root).replace(os.sep, "/")
        if not os.path.isfile(real) or self._in_ours(rel, self.real_root):
            raise problem(f"{what} not found", value=ref,
                          hint="check the path", reason=f"missing-{what}")
        return rel, real

    def _in_ours(self, rel: str, root: str | None = None) -> bool:
        """``rel`` lies in a dataset this program wrote inside the images folder."""
        parts = rel.split("/")[:-1]
        base = root or self.root
        return any(written_here(os.path.join(base, *parts[: i + 1])) for i in range(len(parts)))

    def _checked(
        self, rel: str, ref: str, what: str, linked: bool
    ) -> tuple[str, str]:
        if linked:
            real = os.path.realpath(os.path.join(self.root, rel))
            if not _inside(real, self.real_root):
                raise _escape(ref, what)
            return rel, real
        return rel, rel


def _split_ref(ref: str) -> tuple[list[str], str | None]:
    """Key parts of a reference (bucket or host first), or an absolute local path."""
    match = _SCHEME.fullmatch(ref)
    if match:
        scheme, rest = match.group(1).lower(), match.group(2)
        if scheme == "file":
            return rest.split("/"), (rest if rest.startswith("/") else None)
        return rest.split("/"), None
    if os.path.isabs(ref):
        return ref.split("/"), ref
    return ref.split("/"), None


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _escape(ref: str, what: str) -> InputError:
    return problem(f"{what} path leaves the images folder", value=ref,
                   hint="only files inside the images folder are read; '..', absolute "
                   "paths and symlinks pointing outside are refused", reason="path-escape")


_NO_CHECKS = ImageChecks(max_pixels=0)


class _Positioned:
    """``read``/``seek`` over a file descriptor with ``pread``: what the header sniffer needs,
    without the file object, its buffer and its lock (an image header is read for every line)."""

    __slots__ = ("fd", "pos")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pos = 0

    def read(self, n: int) -> bytes:
        data = os.pread(self.fd, n, self.pos)
        self.pos += len(data)
        return data

    def seek(self, pos: int) -> None:
        self.pos = pos


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_PREAD = hasattr(os, "pread")  # not on Windows: a file object there


# a format the header scan names -> the bytes every such file starts with (headers.sniff and
# Pillow's JPEG and PNG plugins accept no file without them)
_MAGIC = {"JPEG": b"\xff\xd8\xff", "PNG": b"\x89PNG\r\n\x1a\n"}


def read_file(file: str) -> bytes:
    """The whole file, read into one bytes object by one ``read`` of the size ``fstat`` gives
    (no file object, no buffer to copy through: every image is read this way once)."""
    fd = os.open(file, _OPEN_FLAGS)
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)  # one more, to see a file that grew since
        if len(data) == size:
            return data
        parts = [data]  # grown, shrunk, or over the 2 GiB one read gives: read to the end
        while True:
            more = os.read(fd, 1 << 20)
            if not more:
                return b"".join(parts)
            parts.append(more)
    finally:
        os.close(fd)


# The C core's scan of one file (``_speedups.scan_image``: sniff's reads and the end check's,
# with no interpreter work between the system calls), or None: the pure path below, which stays
# the reference (tests patch this name to compare the two)
_scan = getattr(_ext, "scan_image", None)
_MAX_SCAN_PIXELS = 1 << 62  # limits above this are all "no limit" to any real image


def read_header(file: str, ref: str,
                checks: ImageChecks = _NO_CHECKS) -> ImageHeader:
    """Size (upright) and EXIF decision from the image header, and the ``checks``; pixels are
    decoded only when ``checks.full_decode`` asks for it."""
    try:
        found = None
        if _scan is not None:
            found = _scan(file, _TAIL, min(checks.max_pixels, _MAX_SCAN_PIXELS))
        if found is not None:
            header = _judged(Header(*found[:6]), found[6], file, ref, checks, found[7])
        elif _PREAD:
            fd = os.open(file, _OPEN_FLAGS)
            try:
                header = _read_open(_Positioned(fd), os.fstat(fd).st_size, file, ref, checks)
            finally:
                os.close(fd)
        else:
            with open(file, "rb", buffering=0) as handle:
                header = _read_open(handle, os.fstat(handle.fileno()).st_size, file, ref,
                                    checks)
    except InputError:
        raise
    except FileNotFoundError as exc:
        raise problem(f"image not found: {file}", value=ref,
                      hint="check the images folder", reason="missing-image") from exc
    except Exception as exc:  # PIL raises many types for broken files
        raise problem(f"not a readable image: {file} ({exc})", value=ref,
                      hint="replace the file or drop the line", reason="bad-image") from exc
    return header


def _read_open(handle, size: int, file: str, ref: str, checks: ImageChecks) -> ImageHeader:
    """``read_header`` on the open file ``handle`` (``read`` and ``seek``) of ``size`` bytes."""
    fast = sniff(handle)
    if fast is not None:
        return _judged(fast, size, file, ref, checks, handle)
    from PIL import Image  # only for what the fast sniffer cannot read

    with open(file, "rb") as whole, Image.open(whole) as image:
        kind, (width, height) = image.format, image.size
        why = decodable.of_image(image)
        orientation = 1
        if image.format in ("JPEG", "MPO"):
            try:
                orientation = int(image.getexif().get(_ORIENTATION, 1))
            except Exception:  # a broken EXIF block: show the image as stored
                orientation = 1
    return _checked_header(kind, width, height, orientation, why, size, file, ref, checks,
                           handle)


def _judged(fast: Header, size: int, file: str, ref: str, checks: ImageChecks,
            ends: object) -> ImageHeader:
    """The header the fast sniffer read, judged (``ends``: as in ``_checked_header``)."""
    why = decodable.reason(fast.format, fast.mode, fast.transparency)
    return _checked_header(fast.format, fast.width, fast.height, fast.orientation, why, size,
                           file, ref, checks, ends)


def _checked_header(kind: str | None, width: int, height: int, orientation: int,
                    why: str | None, size: int, file: str, ref: str, checks: ImageChecks,
                    ends: object) -> ImageHeader:
    """``checks`` applied, in their order, and the upright header.  ``ends``: the open file,
    whose last bytes are read for the end marker, or what the C scan found there."""
    if checks.max_pixels and width * height > checks.max_pixels:
        raise problem(
            f"image is too large to decode safely: {file} is {width}x{height}"
            f" = {width * height:,} pixels, over the limit of {checks.max_pixels:,}",
            value=ref, hint="a decompression bomb, or a really large image: raise the "
            "limit with --max-pixels if it is real", reason="too-many-pixels")
    if checks.max_pixels:  # checks are on: the file must not end early
        _check_end(ends, kind, size, file, ref)
    if checks.full_decode:
        _decode(file, ref)
    if width <= 0 or height <= 0:
        raise problem(f"image has no pixels: {file}", value=ref,
                      reason="bad-image")
    if not 2 <= orientation <= 8:
        return ImageHeader(width, height, AS_STORED, size, kind, why)
    if orientation in _SWAPPING:
        width, height = height, width
    return ImageHeader(width, height, UPRIGHT, None, kind, why, orientation, size)


def _check_end(ends: object, kind: str | None, size: int, file: str, ref: str) -> None:
    """A JPEG or PNG cut short lacks its end marker; other formats are left to ``_decode``.
    ``ends``: the open file, or the C scan's answer (True: the marker is there)."""
    end = _ENDS.get(kind or "")
    if end is None:
        return
    if type(ends) is not bool:
        ends.seek(max(0, size - _TAIL))
        ends = end in ends.read(_TAIL)
    if not ends:
        raise problem(f"image is truncated: {file} ({kind} without its end "
                      f"marker, {size} bytes)", value=ref, hint="copy the image again, or "
                      "drop the line (--skip-invalid skips such images)", reason="truncated")


def _decode(file: str, ref: str) -> None:
    from PIL import Image

    try:
        with Image.open(file) as image:
            image.load()
    except Exception as exc:  # PIL raises many types for broken data
        raise problem(f"image does not decode: {file} ({exc})", value=ref,
                      hint="replace the file or drop the line (--skip-invalid skips it)",
                      reason="undecodable") from exc


class ImageReader:
    """``Sample.read_image``: the file's bytes, or the image as its labels were drawn when EXIF
    rotates it (``reencode``: AS_STORED, UPRIGHT or RAW_FRAME); re-encoded once as RGB JPEG/PNG
    when ModelPack could not decode it (``convert``, with ``rgb``)."""

    __slots__ = ("root", "stored", "reencode", "manifest", "line", "rgb", "convert", "magic")

    def __init__(self, root: str, stored: str, reencode: int, manifest: str, line: int,
                 rgb: bool = False, convert: bool = False, fmt: str | None = None) -> None:
        self.root = root          # shared by all samples
        self.stored = stored      # relative to root, or absolute
        self.reencode = reencode  # AS_STORED, UPRIGHT (decode, EXIF applied) or RAW_FRAME
        self.manifest = manifest
        self.line = line
        self.rgb = rgb            # a decoded image becomes RGB JPEG/PNG; else keeps its mode
        self.convert = convert    # decode even as stored: ModelPack could not decode the file
        # the leading bytes the header scan found (its format, as Pillow names it, is only
        # named for a file starting so), or None: head() need not open the file for them
        self.magic = _MAGIC.get(fmt)

    @property
    def file(self) -> str:
        return os.path.join(self.root, self.stored)

    def __call__(self) -> bytes:
        try:
            if self.reencode != UPRIGHT and not self.convert:
                data = read_file(self.file)
                if self.reencode == RAW_FRAME:
                    raw = clear_orientation(data)
                    if raw is None:
                        raise ValueError("its EXIF orientation tag cannot be cleared in place")
                    return raw
                return data
            from PIL import Image, ImageOps

            with Image.open(self.file) as image:
                upright = self.reencode == UPRIGHT and image.format in ("JPEG", "MPO")
                view = ImageOps.exif_transpose(image) if upright else image
                icc = image.info.get("icc_profile")
                if self.rgb:
                    return decodable.encode(decodable.to_rgb(view), image.format, icc)
                if view.mode not in ("RGB", "L", "CMYK"):
                    view = view.convert("RGB")
                out = io.BytesIO()
                view.save(out, "JPEG", quality=95, **({"icc_profile": icc} if icc else {}))
                return out.getvalue()
        except Exception as exc:
            raise self._unreadable(exc) from exc

    def head(self, n: int) -> bytes | None:
        """The first ``n`` bytes of what a call gives (or just those that name the format the
        header scan found), without reading the rest: what -f tfod takes its ``image/format``
        from before writing.  None when the image is re-encoded (its bytes exist only once
        made).  Clearing the EXIF tag in place leaves them as stored."""
        if self.reencode == UPRIGHT or self.convert:
            return None
        if self.magic is not None:  # all that names the format: the rest is not needed
            return self.magic[:n]
        try:
            fd = os.open(self.file, _OPEN_FLAGS)
            try:
                return os.read(fd, n)
            finally:
                os.close(fd)
        except OSError as exc:
            raise self._unreadable(exc) from exc

    def _unreadable(self, exc: Exception) -> InputError:
        return InputError(self.manifest, self.line, f"cannot read image {self.file}: {exc}",
                          value=self.file, hint="the file changed or is corrupt",
                          reason="bad-image")

    def __repr__(self) -> str:
        return (f"ImageReader({self.file!r}, reencode={self.reencode}, rgb={self.rgb}, "
                f"convert={self.convert})")


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|\ud800-\udfff]')  # lone surrogates: not UTF-8
_MAX_NAME_BYTES = 240


def _safe(part: str) -> str:
    """A path part made safe as (part of) a file name on common file systems."""
    part = _UNSAFE.sub("_", part)
    if part.startswith("."):
        part = "_" + part[1:]
    return part or "_"


def _fit(name: str) -> str:
    """Shorten an over-long name from the front of its stem, keeping the extension."""
    if len(name) <= _MAX_NAME_BYTES // 4 or len(name.encode("utf-8")) <= _MAX_NAME_BYTES:
        return name  # (the first test needs no encoding: a character is at most 4 bytes)
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext = name, ""
    budget = _MAX_NAME_BYTES - len(ext.encode("utf-8")) - (1 if ext else 0)
    cut = stem.encode("utf-8")[-budget:].decode("utf-8", "ignore")
    return f"{cut}.{ext}" if ext else cut


def _with_parents(rel: str, depth: int) -> str:
    if not depth:  # the common case, once per file of the dataset
        return _fit(_safe(rel.rpartition("/")[2]))
    parts = rel.split("/")
    parents = parts[:-1][-depth:]
    return _fit("_".join(_safe(p) for p in [*parents, parts[-1]]))


def _numbered(name: str, n: int) -> str:
    stem, dot, ext = name.rpartition(".")
    return _fit(f"{stem}~{n}.{ext}" if dot and stem else f"{name}~{n}")


def _same(name: str) -> str:
    """What file systems may take as the same name: case folded (macOS, Windows) after NFC
    normalisation (macOS stores names decomposed, so ``été`` in NFC and NFD is one file)."""
    return name.casefold() if name.isascii() else unicodedata.normalize("NFC", name).casefold()


def assign_names(rels: list[str]) -> list[str]:
    """A unique, file-name-safe output name per sample, deterministic for a given manifest.

    A file keeps its base name when no other file of the dataset has it (compared
    case-insensitively and after NFC normalisation, see ``_same``); colliding files get their parent
    folder names prepended one level at a time (``a/x.jpg`` -> ``a_x.jpg``) until they differ.
    Anything still equal, and a file used by several lines, gets ``~2``, ``~3``... in manifest
    order.
    """
    base_of = {rel: _with_parents(rel, 0) for rel in rels}  # each distinct file, once
    depth: dict[str, int] = {}  # only the files that needed parent folders
    while True:
        counts = Counter(map(_same, base_of.values()))
        grow = [rel for rel, base in base_of.items()
                if counts[_same(base)] > 1 and depth.get(rel, 0) < rel.count("/")]
        del counts
        if not grow:
            break
        for rel in grow:
            depth[rel] = depth.get(rel, 0) + 1
            base_of[rel] = _with_parents(rel, depth[rel])
    used: set[str] = set()
    name_of: dict[str, str] = {}
    counter: dict[str, int] = {}   # base name -> last number tried, so repeats stay linear
    names = []
    for rel in rels:
        name = name_of.get(rel)
        key = _same(name) if name is not None else None
        if key is None or key in used:
            base = name or base_of.pop(rel)
            name, n = base, counter.get(base, 1)
            key = _same(name)
            while key in used:
                n += 1
                name = _numbered(base, n)
                key = _same(name)
            counter[base] = n
            name_of.setdefault(rel, name)
        used.add(key)
        names.append(name)
    return names


def stored_name(rel: str, reencode: int, fmt: str | None, convert: str | None,
                keep: bool) -> str:
    """The image's path with the extension of the format it is stored in (a converted BMP is
    a PNG, a JPEG named ``.png`` is a JPEG), before names are made unique.  Shared by every
    reader, so a source's images are named as a manifest's are."""
    upright = reencode == UPRIGHT
    if convert is not None and not keep:
        return decodable.renamed(rel, decodable.stored_format(fmt))
    if fmt in ("JPEG", "PNG") or (upright and fmt == "MPO"):
        return decodable.renamed(rel, "JPEG" if upright else fmt)
    return rel
