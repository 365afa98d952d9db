"""What every other input shares: an image found under the images folder, checked as Ground
Truth's are, its boxes clipped and counted, its regions painted into a mask, the result a
``ReadResult``.

A source module (``coco``, ``yolo``, ``voc``) only parses its own files into ``Found`` items (or
the ``InputError`` of an entry); ``build`` turns them into Samples, so naming, EXIF handling,
image checks, the error policy and the counts are the Ground Truth reader's own.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from tfrecord_lite.pipeline.errors import InputError, problem
from tfrecord_lite.pipeline.groundtruth.classes import ClassTable, read_classes_file
from tfrecord_lite.pipeline.groundtruth.images import (
    ImageHeader,
    ImageIndex,
    assign_names,
    read_header,
    stored_name,
)
from tfrecord_lite.pipeline.groundtruth.reader import (
    ReadOptions,
    ReadReport,
    ReadResult,
    counted_reader,
)
from tfrecord_lite.pipeline.sample import Boxes, Sample, grey_png

TRAIN, VALIDATION = "train", "validation"
_EPS = 1e-3  # pixels a box may overshoot its image by (rounding in the source) uncounted


class PixelBox(NamedTuple):
    """One object as a source gives it, in pixels of the image as stored or upright."""

    class_index: int
    x1: float
    y1: float
    x2: float
    y2: float
    entry: str  # how an error names it ("annotations[3] (id 17)", "object 1 (dog)")
    crowd: bool = False
    difficult: bool = False
    truncated: bool = False
    line: int = 0  # its line in the item's file, when it has one (a YOLO label row)


class Region(NamedTuple):
    """A segmentation region: polygons (flat x, y lists in pixels) or a COCO RLE."""

    class_index: int
    polygons: tuple[tuple[float, ...], ...] = ()
    rle: tuple[tuple[int, int], tuple[int, ...]] | None = None  # (height, width), counts


@dataclass
class Found:
    """One image as the source lists it, before its file is opened."""

    ref: str  # the image's path, relative to the images folder (or a name found in it)
    where: str  # the annotation file that names it, for errors
    entry: int  # its line or entry number in ``where`` (0: none)
    boxes: list[PixelBox] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)
    size: tuple[int, int] | None = None  # what the source says (width, height), if anything
    side: str | None = None  # TRAIN or VALIDATION when the source splits; None when it does not
    normalised: bool = False  # boxes and polygons in [0, 1] of the image (YOLO)
    candidates: tuple[str, ...] = ()  # other paths to try first (a split's own folder)


@dataclass
class Source:
    """What a source module parsed: the class names and, in order, items or entry errors."""

    path: str  # what -a named, for whole-source errors
    kind: str  # "coco", "yolo", "voc": the summary's "label attribute"
    classes: list[str]
    items: list[Found | InputError]


def read_lines(path: Path) -> list[str]:
    """A list file's lines (UTF-8, BOM allowed), or the one error naming it."""
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), 0, f"cannot read the list ({exc})",
                         hint="one path a line, UTF-8", reason="bad-source") from None


def class_table(names: Sequence[str], options: ReadOptions) -> ClassTable:
    """The dataset's classes: the source's own, or ``--classes`` (then the source's names must
    be among them)."""
    if options.classes_file is None:
        return ClassTable.of(names)
    return ClassTable.of(read_classes_file(options.classes_file), str(options.classes_file))


def build(source: Source, options: ReadOptions) -> ReadResult:
    """Samples from the parsed source, under the error policy: an item with a bad entry is left
    out whole (``--skip-invalid``) or stops the run, as a bad manifest line does."""
    index = ImageIndex(Path(options.images_dir))
    table = class_table(source.classes, options)
    remap = [table.index_of.get(n) for n in source.classes]  # source class -> dataset's
    report = ReadReport(len(source.items), source.kind, "object-detection")
    pending: list[_Read] = []
    for item in source.items:
        try:
            if isinstance(item, InputError):
                raise item
            pending.append(_read_item(item, index, options, table, source.classes, remap,
                                      report))
        except InputError as error:
            error = error.at(item.where, item.entry) if isinstance(item, Found) else error
            options.policy.handle(error)
            report.skip(error)
            report.invalid += 1
    if not pending:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(report.skipped.items())) or "none"
        raise InputError(source.path, 0, f"no usable images in this {source.kind} dataset",
                         hint=f"entries skipped by reason: {reasons}", reason="no-labels")
    keep = options.keep_image_bytes
    names = assign_names([stored_name(p.rel, p.header.reencode, p.header.format,
                                      p.header.convert, keep) for p in pending])
    samples = []
    keys = []
    sides = []
    for (item, rel, stored, header, values, crowd, difficult, truncated, mask), name in zip(
            pending, names):
        reader = counted_reader(report, index.root, stored, header.reencode, header.convert,
                                item.where, item.entry, keep, header.format)
        samples.append(Sample(rel, item.entry, name, header.width, header.height, reader,
                              Boxes._of(values), (), mask,
                              None if reader.convert else header.stored_bytes, (), crowd,
                              difficult, truncated, mask is not None))
        keys.append(rel)
        sides.append(item.side == VALIDATION)
    split = {p.item.side for p in pending}
    own = sides if split == {TRAIN, VALIDATION} else None
    return ReadResult(samples, list(table.names), report, keys, own)


class _Read(NamedTuple):
    """An item whose image was found and checked, before its output name."""

    item: Found
    rel: str
    stored: str
    header: ImageHeader
    values: array  # the Boxes' doubles
    crowd: tuple[bool, ...]
    difficult: tuple[bool, ...]
    truncated: tuple[bool, ...]
    mask: MaskPainter | None  # a source's regions always come with their objects' boxes


def _read_item(item: Found, index: ImageIndex, options: ReadOptions, table: ClassTable,
               names: list[str], remap: list[int | None], report: ReadReport) -> _Read:
    rel, stored = _resolve(index, item)
    header = read_header(index.full(stored), item.ref, options.image_checks)
    if header.reencode:
        header = _frame(header, item.size, options.exif_frame, report)
    width, height = header.width, header.height
    flat: list[float] = []  # the Boxes' doubles, made an array once
    crowd: list[bool] = []
    difficult: list[bool] = []
    truncated: list[bool] = []
    clipped = dropped = 0
    sx, sy = (width, height) if item.normalised else (1, 1)
    for box in item.boxes:
        k = remap[box.class_index]
        if k is None:
            k = _mapped(box.class_index, remap, table, names)
        x1, y1, x2, y2 = box.x1 * sx, box.y1 * sy, box.x2 * sx, box.y2 * sy
        if x1 >= width or y1 >= height or x2 <= 0 or y2 <= 0:
            where = f"{box.entry}: " if box.entry else ""
            raise InputError(item.where, box.line, f"{where}the box lies wholly outside its "
                             f"image ({width}x{height})", value=[x1, y1, x2, y2],
                             hint="fix or drop the box", reason="box-outside")
        cx1, cy1, cx2, cy2 = max(x1, 0.0), max(y1, 0.0), min(x2, width), min(y2, height)
        if x1 < -_EPS or y1 < -_EPS or x2 > width + _EPS or y2 > height + _EPS:
            clipped += 1
        if cx2 - cx1 <= 0 or cy2 - cy1 <= 0:
            dropped += 1
            continue
        flat += (k, (cx1 + cx2) / 2 / width, (cy1 + cy2) / 2 / height, (cx2 - cx1) / width,
                 (cy2 - cy1) / height)
        crowd.append(box.crowd)
        difficult.append(box.difficult)
        truncated.append(box.truncated)
    for r in item.regions:
        if r.rle is not None and r.rle[0] != (height, width):
            raise problem(f"a region's RLE is {r.rle[0][1]}x{r.rle[0][0]} but its image is "
                          f"{width}x{height}", value=item.ref, reason="bad-segmentation")
    regions = tuple(Region(_mapped(r.class_index, remap, table, names), r.polygons, r.rle)
                    for r in item.regions)
    values = array("d", flat)
    report.clipped_boxes += clipped
    report.dropped_boxes += dropped
    if item.size is not None and item.size != (width, height):
        report.size_mismatches += 1
    if values:
        report.objects.update(int(v) for v in values[0::5])
    else:
        report.negatives += 1
    mask = MaskPainter(width, height, regions, (sx, sy)) if regions else None
    return _Read(item, rel, stored, header, values, tuple(crowd) if any(crowd) else (),
                 tuple(difficult) if any(difficult) else (),
                 tuple(truncated) if any(truncated) else (), mask)


def _mapped(k: int, remap: list[int | None], table: ClassTable, names: list[str]) -> int:
    """The dataset's index of the source's class ``k`` (``--classes`` may renumber them)."""
    found = remap[k]
    if found is None:
        return table.index(names[k])  # raises: the name is not in the classes file
    return found


def _resolve(index: ImageIndex, item: Found) -> tuple[str, str]:
    """The image: a split's own folder first (COCO's train and val may share file names)."""
    for ref in item.candidates:
        if ref in index.files:
            return index.resolve(ref)
    try:
        return index.resolve(item.ref)
    except InputError as error:
        raise problem(f"{error.message} (named by {item.where})", value=item.ref,
                      hint=error.hint, reason=error.reason) from None


def _frame(header: ImageHeader, size: tuple[int, int] | None, choice: str,
           report: ReadReport) -> ImageHeader:
    """The frame an EXIF-rotated image's labels were drawn on: ``--exif-frame``, else the size
    the source gives, else the upright view (what today's tools show and Ultralytics trains on)."""
    if choice == "auto" and size is not None and size == header.raw_size \
            and size != (header.width, header.height):
        choice = "raw"
    if choice == "raw":
        report.exif_raw_frame += 1
        return header.raw_frame()
    report.exif_upright_frame += 1
    return header


class MaskPainter:
    """``Sample.read_mask``: the regions painted in order (a later one over an earlier) into an
    8-bit PNG, 0 = background, k + 1 = class k.  Picklable, painted only when asked."""

    __slots__ = ("width", "height", "regions", "scale")

    def __init__(self, width: int, height: int, regions: tuple[Region, ...],
                 scale: tuple[float, float]) -> None:
        self.width, self.height, self.regions, self.scale = width, height, regions, scale

    def __call__(self) -> bytes:
        return grey_png(self.pixels(), self.width, self.height)

    def pixels(self) -> bytes:
        """The painted mask as ``width * height`` bytes, row by row (no PNG round trip)."""
        return self._canvas().tobytes()

    def _canvas(self):
        from PIL import Image, ImageDraw

        canvas = Image.new("L", (self.width, self.height), 0)
        draw = ImageDraw.Draw(canvas)
        sx, sy = self.scale
        for region in self.regions:
            value = region.class_index + 1
            for flat in region.polygons:
                points = [(flat[i] * sx, flat[i + 1] * sy) for i in range(0, len(flat) - 1, 2)]
                if len(points) >= 3:
                    draw.polygon(points, fill=value)
            if region.rle is not None:
                canvas.paste(value, mask=rle_image(*region.rle))
        return canvas


def rle_image(size: tuple[int, int], counts: Sequence[int]):
    """A COCO run-length mask (column-major runs, background first) as a Pillow "L" image,
    255 inside."""
    from PIL import Image

    height, width = size
    flat = bytearray(height * width)
    pos, value = 0, 0
    for run in counts:
        if value:
            flat[pos : pos + run] = b"\xff" * len(flat[pos : pos + run])
        pos += run
        value ^= 1
    columns = Image.frombytes("L", (height, width), bytes(flat))  # one row per column
    return columns.transpose(Image.Transpose.TRANSPOSE)


def decode_rle_string(text: str) -> list[int]:
    """The counts of COCO's compressed RLE string: 5 bits a character (offset 48), a run
    continued while bit 0x20 is set, its last character's 0x10 the sign; from the third run on,
    each is the difference to the run two before."""
    counts: list[int] = []
    pos = 0
    while pos < len(text):
        value = shift = 0
        more = True
        while more:
            c = ord(text[pos]) - 48
            value |= (c & 0x1F) << (5 * shift)
            more = bool(c & 0x20)
            pos += 1
            shift += 1
            if not more and c & 0x10:
                value |= -1 << (5 * shift)
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
    return counts
