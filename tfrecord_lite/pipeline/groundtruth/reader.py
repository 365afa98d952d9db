"""Read a Ground Truth output manifest into Samples: the one entry point of the reading side.

Two streaming passes: the first counts label types, picks the label attribute and assembles the
class table; the second validates each line, resolves its image (header only) and keeps a lean
Sample whose pixels are loaded lazily.  Every per-item problem goes through the error policy.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from tfrecord_lite.pipeline.errors import RAISE, ErrorPolicy, InputError, problem
from tfrecord_lite.pipeline.groundtruth.classes import (
    ClassMaps,
    ClassTable,
    ClassUnion,
    read_classes_file,
)
from tfrecord_lite.pipeline.groundtruth.images import (
    UPRIGHT,
    ImageChecks,
    ImageHeader,
    ImageIndex,
    ImageReader,
    assign_names,
    read_header,
    stored_name,
)
from tfrecord_lite.pipeline.groundtruth.labels import (
    DetectionLabel,
    SegmentationLabel,
    TagLabel,
    class_map_of,
    is_rejection,
    parse_label,
    task_of,
    to_yolo,
)
from tfrecord_lite.pipeline.groundtruth.manifest import (
    SUPPORTED_TYPES,
    VERIFICATION_TYPE,
    AttributeCensus,
    LabelPair,
    Span,
    creation_date,
    find_pairs,
    iter_raw_lines,
    orphan_types,
    parse_date,
    parse_line,
    plan_spans,
)
from tfrecord_lite.pipeline.groundtruth.video import (
    VideoLabel,
    parse_seqlabel,
    parse_sequence,
    video_name,
)
from tfrecord_lite.pipeline.parallel import ordered_map
from tfrecord_lite.pipeline.progress import READ, SCAN, Progress
from tfrecord_lite.pipeline.sample import Boxes, Sample

SPAN_BYTES = 1 << 19  # about how much of the manifest one task reads: fewer tasks, less IPC


@dataclass(frozen=True)
class ReadOptions:
    images_dir: Path
    label_attribute: str | None = None
    classes_file: Path | None = None
    policy: ErrorPolicy = RAISE
    drop_rejected: bool = False          # drop images whose label-verification says "wrong"
    workers: int = 1                     # processes validating lines and reading image headers
    image_checks: ImageChecks = ImageChecks()  # what every image must pass before it is stored
    exif_frame: str = "auto"  # which frame labels of EXIF-rotated images were drawn on
    keep_image_bytes: bool = False       # store images ModelPack cannot decode as they came


@dataclass
class ReadReport:
    """What was read, chosen and skipped, for the converter's summary."""

    lines: int                 # non-blank lines read
    label_attribute: str       # the attribute used (chosen or newest creation-date)
    task: str                  # "object-detection", "semantic-segmentation", "image-classification"
    skipped: dict[str, int] = field(default_factory=dict)    # reason -> count
    examples: dict[str, str] = field(default_factory=dict)   # reason -> first message
    clipped_boxes: int = 0
    dropped_boxes: int = 0
    size_mismatches: int = 0
    exif_reencoded: int = 0
    converted: Counter = field(default_factory=Counter)  # reason -> images made RGB JPEG/PNG
    kept_undecodable: int = 0  # --keep-image-bytes: images stored that ModelPack may not decode
    found_types: dict[str, int] = field(default_factory=dict)  # label type -> lines
    objects: Counter = field(default_factory=Counter)  # class index -> boxes kept
    negatives: int = 0         # samples kept without boxes
    invalid: int = 0           # of the skipped: bad lines/images that "raise" would stop at
    shared_files: int = 0      # lines naming a file an earlier line named (kept on its side)
    class_clashes: str = ""    # ids naming different classes on different lines, described
    sequences: int = 0         # video lines read
    frames: int = 0            # their frames, each a sample
    video_shapes_skipped: int = 0  # polygons, polylines, keypoints of video jobs
    exif_raw_frame: int = 0    # EXIF-rotated images whose labels were drawn on the raw frame
    exif_upright_frame: int = 0  # ... on the upright (rotated) view
    exif_by_date: int = 0      # of both, decided by the job's date (the size could not tell)

    def add_counts(self, span: ReadReport) -> None:
        """Add the box counts of a span of lines, read in a worker."""
        self.clipped_boxes += span.clipped_boxes
        self.dropped_boxes += span.dropped_boxes
        self.size_mismatches += span.size_mismatches
        self.objects.update(span.objects)
        self.negatives += span.negatives
        self.sequences += span.sequences
        self.frames += span.frames
        self.video_shapes_skipped += span.video_shapes_skipped
        self.exif_raw_frame += span.exif_raw_frame
        self.exif_upright_frame += span.exif_upright_frame
        self.exif_by_date += span.exif_by_date

    def skip(self, error: InputError) -> None:
        self.skipped[error.reason] = self.skipped.get(error.reason, 0) + 1
        self.examples.setdefault(error.reason, str(error))

    @property
    def notices(self) -> list[str]:
        """What the reader decided that the user should know of (printed as warnings)."""
        if not self.class_clashes:
            return []
        return [f"class ids mean different classes on different lines ({self.class_clashes}): "
                "classes are kept by name, each box with its own line's name, and numbered anew"]


@dataclass
class ReadResult:
    samples: list[Sample]      # in manifest order
    classes: list[str]
    report: ReadReport
    split_keys: list[str] = field(default_factory=list)  # per sample: what decides its split
    #: per sample, True for validation: the source's own split (COCO's train and val files,
    #: YOLO's train and val, VOC's ImageSets), kept unless -s is given; None: it has none
    source_split: list[bool] | None = None


class _Skip(Exception):
    """A line that is not an error but is left out (unlabelled, other type, rejected...)."""

    def __init__(self, error: InputError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Context:
    path: str
    options: ReadOptions
    attribute: str
    type: str
    task: str
    union: ClassUnion
    table: ClassTable
    index: ImageIndex
    report: ReadReport
    maps: ClassMaps = field(default_factory=ClassMaps)  # this read's class-map parser


def read_manifest(manifest: Path, options: ReadOptions,
                  progress: Progress | None = None) -> ReadResult:
    """Read a Ground Truth output manifest and the images it names into Samples.

    Raises InputError for whole-file problems (empty, no usable labels, missing images folder)
    and, unless the policy skips, for the first bad line; otherwise bad lines are counted by
    reason.
    """
    path = str(manifest)
    index = ImageIndex(Path(options.images_dir))
    fixed = read_classes_file(options.classes_file) if options.classes_file else None
    return _read(manifest, options, path, index, fixed, progress or _quiet)


def _quiet(phase: str, done: int, total: int) -> None:
    pass


def _read(manifest: Path, options: ReadOptions, path: str, index: ImageIndex,
          fixed: list[str] | None, progress: Progress) -> ReadResult:
    spans = plan_spans(manifest, SPAN_BYTES)  # both passes hand these to workers
    total = spans[-1].end if spans else 0
    census, unions, lines = _first_pass(manifest, spans, options.policy, options.workers,
                                        lambda done: progress(SCAN, done, total))
    ctx = make_context(path, options, index, fixed, census, unions, lines)
    progress(READ, 0, total)

    def chunks():
        for chunk, span in zip(ordered_map(_read_chunk, ctx, spans, options.workers), spans):
            progress(READ, span.end, total)
            yield chunk

    return assemble(ctx, census, chunks())


def make_context(path: str, options: ReadOptions, index: ImageIndex, fixed: list[str] | None,
                 census: AttributeCensus, unions: dict[str, ClassUnion], lines: int) -> _Context:
    """What the second pass needs, from the first pass's tallies: the chosen attribute, its
    task and the class table (one step, whichever engine runs the passes)."""
    if not lines:
        raise InputError(path, 0, "the manifest has no lines",
                         hint="expected one JSON object per line", reason="empty")
    stats = census.choose(options.label_attribute, path)
    union = unions.get(stats.attribute, ClassUnion())
    skip_background = SUPPORTED_TYPES[stats.type] == "semantic-segmentation"
    table = ClassTable.build(union, fixed, str(options.classes_file) if fixed else None,
                             frozenset({0}) if skip_background else frozenset())
    task = SUPPORTED_TYPES[stats.type]
    if task == "image-classification-multilabel":
        task = "image-classification"  # both become image-level tags
    elif task == "video-object-detection":
        task = "object-detection"  # frames become images with boxes
    report = ReadReport(lines, stats.attribute, task, found_types=dict(census.found_types))
    if union.clashes and fixed is None:
        report.class_clashes = union.describe_clashes()
    return _Context(path, options, stats.attribute, stats.type, task, union, table, index,
                    report)


def assemble(ctx: _Context, census: AttributeCensus,
             chunks: Iterable[tuple[list, ReadReport]]) -> ReadResult:
    """The whole index from the second pass's chunks, taken in manifest order: the error policy
    applied, output names made unique, one split key per file.  The one step that sees every
    sample, whichever engine read the spans."""
    report = ctx.report
    options = ctx.options
    path = ctx.path
    pending = []
    for outcomes, counts in chunks:
        report.add_counts(counts)
        for kind, value in outcomes:
            if kind == "ok":
                pending.append(value)
            elif kind == "soft":
                report.skip(value)
            else:
                _apply_policy(value, options.policy, report)

    if not pending:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(report.skipped.items())) or "none"
        raise InputError(path, 0, f"no usable samples for label attribute {ctx.attribute!r}",
                         hint=f"lines skipped by reason: {reasons}; label types found: "
                         f"{census.describe()}", reason="no-labels")
    keep = options.keep_image_bytes
    names = assign_names([stored_name(p.rel, p.reencode, p.format, p.convert, keep)
                          for p in pending])
    samples: list = pending  # turned into Samples in place, so both never exist whole at once
    root = ctx.index.root
    first_ref: dict[str, str] = {}  # file -> the source-ref of the first line naming it
    split_keys = []
    for k, name in enumerate(names):
        p = pending[k]
        own = p.group or p.ref
        key = first_ref.setdefault(p.stored, own)  # one file, one side (s3://a/x and s3://b/x)
        report.shared_files += key is not own
        split_keys.append(key)
        reader = counted_reader(report, root, p.stored, p.reencode, p.convert, path, p.line,
                                keep, p.format)
        samples[k] = Sample(p.ref, p.line, name, p.width, p.height, reader, Boxes._of(p.boxes),
                            p.tags, p.mask, None if reader.convert else p.stored_bytes, p.tracks)
    return ReadResult(samples, list(ctx.table.names), report, split_keys)


def counted_reader(report: ReadReport, root: str, stored: str, reencode: int, why: str | None,
                   where: str, line: int, keep: bool, fmt: str | None = None) -> ImageReader:
    """The image's reader, what it does counted in ``report``: re-encoded upright (EXIF),
    converted for tf.io.decode_jpeg (``why``), or kept as it came (``--keep-image-bytes``).
    Every input's reader makes its samples' readers here."""
    convert = why is not None and not keep
    report.exif_reencoded += reencode == UPRIGHT
    if convert:
        report.converted[why] += 1
    elif why is not None:
        report.kept_undecodable += 1
    return ImageReader(root, stored, reencode, where, line, rgb=not keep, convert=convert,
                       fmt=fmt)


class _Pending(NamedTuple):
    """A sample before it has its output name, as plain values (they cross a pipe several times
    faster than the objects made of them)."""

    line: int
    rel: str  # what its output name is made from
    ref: str
    width: int
    height: int
    stored: str
    reencode: bool
    boxes: array
    tags: tuple[str, ...]
    mask: object
    stored_bytes: int | None
    format: str | None = None  # as Pillow names it
    convert: str | None = None  # why ModelPack could not decode it as it is; None: it can
    group: str | None = None  # decides the split instead of the file (a video's sequence)
    tracks: tuple[str, ...] = ()


_NO_BOXES = Boxes()


def _read_chunk(shared: _Context, span: Span) -> tuple[list, ReadReport]:
    """Read a span's lines into pending samples, soft skips and errors, keeping their order; the
    policy is applied by the caller.  Runs in a worker process when ``workers > 1``."""
    ctx = replace(shared, report=ReadReport(0, shared.attribute, shared.task))
    out: list[tuple[str, object]] = []
    for line_no, raw in iter_raw_lines(Path(ctx.path), span):
        try:
            obj = raw if isinstance(raw, InputError) else parse_line(ctx.path, line_no, raw)
            if isinstance(obj, InputError):
                raise obj
            item = _read_line(ctx, line_no, obj)
            if type(item) is list:  # a video line: one sample per frame
                out += [("ok", frame) for frame in item]
            else:
                out.append(("ok", item))
        except _Skip as soft:
            out.append(("soft", soft.error.at(ctx.path, line_no)))
        except InputError as error:
            out.append(("error", error.at(ctx.path, line_no)))
        except Exception as exc:  # belt and braces: a line must never crash the reader
            out.append(("error", InputError(
                ctx.path, line_no, f"cannot read line ({type(exc).__name__}: {exc})",
                value=raw.decode("utf-8", "replace") if isinstance(raw, bytes) else None,
                reason="invalid",
                hint="a line shape tfrecord-lite does not know: please report it with this line "
                "(--skip-invalid skips it)")))
    return out, ctx.report


@dataclass
class _Survey:
    """What the first pass learns from a span of lines: tallied in the worker that read them, so
    only this crosses a pipe, never a summary per line."""

    lines: int = 0
    errors: list[InputError] = field(default_factory=list)
    census: AttributeCensus = field(default_factory=AttributeCensus)
    #: (attribute, class map, lines): runs of consecutive lines with the same map
    maps: list[tuple[str, dict[int, str], list[int]]] = field(default_factory=list)


def _survey_chunk(path: str, span: Span) -> _Survey:
    survey = _Survey()
    maps = ClassMaps()
    last_run: dict[str, tuple[str, dict[int, str], list[int]]] = {}
    for line_no, raw in iter_raw_lines(Path(path), span):
        survey.lines += 1
        obj = raw if isinstance(raw, InputError) else parse_line(path, line_no, raw)
        if isinstance(obj, InputError):
            survey.errors.append(obj)
            continue
        pairs = find_pairs(obj)
        survey.census.add_line(pairs, orphan_types(obj), line_no)
        for pair in pairs:
            if task_of(pair) is None or pair.failed:
                continue
            try:
                mapping = class_map_of(pair, maps)
            except InputError:
                continue  # reported by the second pass, under the policy
            run = last_run.get(pair.attribute)
            if run is not None and (run[1] is mapping or run[1] == mapping):
                run[2].append(line_no)
            else:
                run = last_run[pair.attribute] = (pair.attribute, mapping, [line_no])
                survey.maps.append(run)
    return survey


def _first_pass(manifest: Path, spans: list[Span], policy: ErrorPolicy, workers: int = 1,
                done: Callable[[int], None] = lambda n: None,
                ) -> tuple[AttributeCensus, dict[str, ClassUnion], int]:
    """Count label types per attribute and build each attribute's class union.  Workers tally
    their spans; the tallies are merged here, in manifest order."""
    path = str(manifest)
    done(0)

    def surveys():
        for survey, span in zip(ordered_map(_survey_chunk, path, spans, workers), spans):
            done(span.end)
            yield survey

    return merge_surveys(surveys(), policy)


def merge_surveys(surveys: Iterable[_Survey], policy: ErrorPolicy,
                  ) -> tuple[AttributeCensus, dict[str, ClassUnion], int]:
    """The census, each attribute's class union and the line count, from the spans' surveys in
    manifest order (the order decides which class is seen first); with policy "raise", the
    first bad line stops here."""
    census = AttributeCensus()
    unions: dict[str, ClassUnion] = {}
    lines = 0
    for survey in surveys:
        if survey.errors and not policy.skip:
            raise survey.errors[0]
        lines += survey.lines
        census.merge(survey.census)
        for attribute, mapping, run in survey.maps:
            unions.setdefault(attribute, ClassUnion()).add(mapping, *run)
    return census, unions, lines


def _apply_policy(error: InputError, policy: ErrorPolicy, report: ReadReport) -> None:
    policy.handle(error)
    report.skip(error)
    report.invalid += 1


def _soft(message: str, reason: str, value: object = None) -> _Skip:
    """A line left out by rule, not by error: counted, never stops the run."""
    return _Skip(problem(message, value=value, reason=reason))


def _read_line(ctx: _Context, line: int, obj: dict) -> tuple:
    """Validate one line and return its pending sample (everything but the output name) as
    plain values, which cross a pipe several times faster than the objects made of them."""
    pairs = find_pairs(obj, dates=False)
    chosen = next((p for p in pairs if p.attribute == ctx.attribute), None)
    if chosen is None:
        raise _not_chosen(ctx, pairs)
    if chosen.failed:
        raise _soft(f"{ctx.attribute!r} is a failed item (metadata without a type "
                    "or with a failure/error key)", "failed")
    if chosen.type != ctx.type:
        raise _soft(f"{ctx.attribute!r} has type {chosen.type!r} on this line",
                    f"other-type:{chosen.type}")
    if ctx.options.drop_rejected and _rejected(pairs):
        raise _soft("label-verification says the label is wrong", "rejected")
    ref = obj.get("source-ref")
    if not isinstance(ref, str) or not ref.strip():
        raise problem("line has no source-ref string", value=ref,
                      hint="image lines name their image in 'source-ref'",
                      reason="missing-source-ref")
    if "\x00" in ref:
        raise problem("source-ref contains a NUL character", value=ref,
                      hint="no file name can hold one: fix the line's source-ref",
                      reason="bad-source-ref")
    label = parse_label(chosen, ctx.maps)
    if isinstance(label, VideoLabel):
        return _read_video(ctx, line, ref, label, chosen)
    rel, stored = ctx.index.resolve(ref)
    header = read_header(ctx.index.full(stored), ref, ctx.options.image_checks)
    if header.reencode and not isinstance(label, TagLabel):  # tags have no geometry: upright
        header = _labelled_frame(ctx, header, getattr(label, "image_size", None), chosen)
    boxes = _NO_BOXES
    tags: tuple[str, ...] = ()
    mask = None
    if isinstance(label, DetectionLabel):
        boxes, clipped, dropped = to_yolo(label.boxes, label.class_map, ctx.table, header.width,
                                          header.height)
        ctx.report.clipped_boxes += clipped
        ctx.report.dropped_boxes += dropped
        if label.image_size is not None and label.image_size != (header.width, header.height):
            ctx.report.size_mismatches += 1
    elif isinstance(label, TagLabel):
        for tag in label.tags:
            ctx.table.index(tag)
        tags = label.tags
    elif isinstance(label, SegmentationLabel):
        # Pillow: loaded only for segmentation
        from tfrecord_lite.pipeline.groundtruth.masks import MaskReader, check_mask

        entries = tuple(
            (key, 0 if key == 0 else ctx.table.index(name) + 1, color)
            for key, name, color in label.colors)
        mfile = ctx.index.full(ctx.index.resolve(label.mask_ref, what="mask")[1])
        check_mask(mfile, label.mask_ref, header.width, header.height)
        mask = MaskReader(mfile, label.mask_ref, entries, ctx.path, line)
    if boxes:
        ctx.report.objects.update(boxes.class_indices())
    else:
        ctx.report.negatives += 1
    return _Pending(line, rel, ref, header.width, header.height, stored, header.reencode,
                    boxes._v, tags, mask, header.stored_bytes, header.format, header.convert)


#: From Chrome 81 (2020-04-07; Safari 13.1 and Firefox 77 that spring) browsers show JPEGs with
#: their EXIF orientation applied, so labelling tools show the upright view; before, the raw one
BROWSERS_UPRIGHT = datetime(2020, 4, 7, tzinfo=timezone.utc).timestamp()


def _labelled_frame(ctx: _Context, header: ImageHeader, image_size: tuple[int, int] | None,
                    pair: LabelPair) -> ImageHeader:
    """Which frame an EXIF-rotated image's labels were drawn on, as the header to store it by.

    ``image_size`` tells when the orientation swaps width and height (the raw size or the
    rotated one); otherwise the job's creation-date does (before browsers applied EXIF: the raw
    frame), unless ``--exif-frame`` says.  Raw-frame images are stored with the orientation tag
    cleared, so every decoder shows the pixels the boxes were drawn on."""
    report = ctx.report
    choice = ctx.options.exif_frame
    if choice == "auto":
        raw, upright = header.raw_size, (header.width, header.height)
        if image_size is not None and raw != upright and image_size in (raw, upright):
            choice = "raw" if image_size == raw else "upright"
        else:
            report.exif_by_date += 1
            date = parse_date(creation_date(pair.metadata))
            choice = "raw" if date is not None and date < BROWSERS_UPRIGHT else "upright"
    if choice == "raw":
        report.exif_raw_frame += 1
        return header.raw_frame()
    report.exif_upright_frame += 1
    return header


def _read_file(ctx: _Context, ref: str, what: str) -> bytes:
    """The bytes of a JSON file a video line names, found like an image."""
    file = ctx.index.full(ctx.index.resolve(ref, what=what)[1])
    try:
        with open(file, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise problem(f"cannot read the {what} {file}: {exc.strerror}", value=ref,
                      reason=f"missing-{what}") from None


def _read_video(ctx: _Context, line: int, ref: str, label: VideoLabel, pair: LabelPair
                ) -> list[_Pending]:
    """A video line's frames, each a sample with its boxes; all of them split as one."""
    frames = parse_sequence(_read_file(ctx, ref, "sequence"), ref)
    per_frame, shapes = parse_seqlabel(_read_file(ctx, label.seqlabel_ref, "seqlabel"),
                                       label, frames)
    report = ctx.report
    report.sequences += 1
    report.frames += len(frames)
    report.video_shapes_skipped += shapes
    video = video_name(ref)
    out = []
    for frame_ref, found in zip(frames, per_frame):
        rel, stored = ctx.index.resolve(frame_ref, what="frame")
        header = read_header(ctx.index.full(stored), frame_ref, ctx.options.image_checks)
        if header.reencode:
            header = _labelled_frame(ctx, header, None, pair)
        values = array("d")
        tracks = []
        for box, track in zip(found.boxes, found.tracks):  # box by box: tracks stay aligned
            kept, clipped, dropped = to_yolo((box,), label.class_map, ctx.table, header.width,
                                             header.height)
            report.clipped_boxes += clipped
            report.dropped_boxes += dropped
            if kept:
                values += kept._v
                tracks.append(track)
        boxes = Boxes._of(values)
        if boxes:
            report.objects.update(boxes.class_indices())
        else:
            report.negatives += 1
        name = f"{video}_{rel.rsplit('/', 1)[-1]}"
        out.append(_Pending(line, name, frame_ref, header.width, header.height, stored,
                            header.reencode, values, (), None, header.stored_bytes,
                            header.format, header.convert, ref, tuple(tracks)))
    return out


def _rejected(pairs: list[LabelPair]) -> bool:
    """The newest label-verification on the line decides."""
    checks = [p for p in pairs if p.type == VERIFICATION_TYPE]
    if not checks:
        return False
    dates = [parse_date(creation_date(p.metadata)) for p in checks]  # pairs came without dates
    newest = max(zip(dates, checks), key=lambda dc: (dc[0] is not None, dc[0] or 0.0))[1]
    return is_rejection(newest)


def _not_chosen(ctx: _Context, pairs: list[LabelPair]) -> _Skip:
    """Why a line without the chosen attribute is left out: failed, other type, or unlabelled."""
    if any(p.failed for p in pairs):
        return _soft("failed item (metadata without a type or with a failure/error "
                     "key)", "failed")
    others = [p.type for p in pairs if p.type not in SUPPORTED_TYPES
              and p.type != VERIFICATION_TYPE]
    if others and not any(p.type in SUPPORTED_TYPES for p in pairs):
        return _soft(f"label type {others[0]!r} is not converted",
                     f"other-type:{others[0]}", others[0])
    return _soft(f"no {ctx.attribute!r} label on this line", "unlabelled")
