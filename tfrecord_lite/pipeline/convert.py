"""The converter, top to bottom: manifest -> samples -> split -> encode -> shards -> publish.

Knows the order of the stages and nothing of their insides.  Work on images (reading,
EXIF re-encoding, Example building) is spread over ``workers`` forked processes; records come
back in order, so the output is byte-identical whatever the number of workers.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tfrecord_lite import __version__
from tfrecord_lite.format import shards
from tfrecord_lite.format.records import FRAME_OVERHEAD, TFRecordWriter
from tfrecord_lite.pipeline import dataset_info as info
from tfrecord_lite.pipeline.errors import RAISE, SKIP, ErrorPolicy, InputError, OutputError
from tfrecord_lite.pipeline.formats import (
    coco_format,
    darknet_format,
    edgefirst_format,
    json_format,
    modelpack,
    per_image,
    tfod_format,
    tfrecord_format,
)
from tfrecord_lite.pipeline.formats.polygons import mask_pixels
from tfrecord_lite.pipeline.groundtruth.images import ImageChecks
from tfrecord_lite.pipeline.groundtruth.reader import (
    ReadOptions,
    ReadReport,
    ReadResult,
    read_manifest,
)
from tfrecord_lite.pipeline.parallel import Workers, chunked
from tfrecord_lite.pipeline.progress import Progress
from tfrecord_lite.pipeline.publish import INFO, Stage, check_output
from tfrecord_lite.pipeline.sample import Sample
from tfrecord_lite.pipeline.split import fill_empty_side, source_indices, split_indices

FORMATS = ("tfrecord", "json", "darknet", "coco", "edgefirst", "tfod")
INFO_TYPES = {"tfrecord": "tfrecord", "darknet": "darknet"}  # yaml ``type`` (ModelPack's reader)
_PER_IMAGE = {"json": json_format, "darknet": darknet_format}  # formats with files per image
_SHARDED = {"tfrecord": tfrecord_format, "tfod": tfod_format}  # Examples in planned shards
TAG_FORMATS = ("json", "coco")  # the formats that keep image-level class labels
SPLITS = ("train", "validation")
_CHUNK = 32  # samples per task handed to a worker
_RANGE_BYTES = 8 << 20  # about how much of a shard one task writes, with --workers > 1



@dataclass(frozen=True)
class ConvertOptions:
    annotations: Path
    images: Path
    output: Path
    format: str = "tfrecord"
    split: float = 0.2
    partition_mb: float = 100.0
    seed: int = 0
    label_attribute: str | None = None
    classes_file: Path | None = None
    policy: ErrorPolicy = RAISE
    drop_rejected: bool = False
    workers: int = 1
    overwrite: bool = False
    path_prefix: str | None = None
    image_checks: ImageChecks = ImageChecks()
    exif_frame: str = "auto"  # which frame EXIF-rotated images' labels were drawn on
    keep_image_bytes: bool = False  # store every image as it came, even those ModelPack can't read
    source: str | None = None  # the manifest as dataset_info.yaml names it (an s3:// URL)
    masks: bool = False  # -f tfod: a PNG mask per object (image/object/mask)
    input: str = "groundtruth"  # what ``annotations`` is: groundtruth, coco, yolo or voc
    keep_source_split: bool = False  # a source's own train/val wins over ``split`` (no -s)


@dataclass
class ConvertResult:
    output: Path
    classes: list[str]
    splits: dict[str, info.SplitInfo]
    report: ReadReport
    objects: Counter = field(default_factory=Counter)  # class name -> boxes
    negatives: int = 0  # images with no boxes
    bytes: int = 0
    seconds: float = 0.0
    moved_to_fill: int = 0  # samples moved so that neither split is empty
    warnings: list[str] = field(default_factory=list)  # what ModelPack will refuse or may not read
    source_split: bool = False  # the sides are the source's own (COCO/YOLO/VOC), not hashed

    @property
    def fixes(self) -> dict[str, int]:
        """What was repaired or decided on the way, by what (zero counts included)."""
        r = self.report
        return {
            "boxes clipped to the image": r.clipped_boxes,
            "zero-area boxes dropped": r.dropped_boxes,
            "image_size differing from the image": r.size_mismatches,
            "JPEGs re-encoded upright (EXIF)": r.exif_reencoded,
            "EXIF-rotated images labelled on the raw frame (stored raw, tag cleared)":
                r.exif_raw_frame,
            "EXIF-rotated images labelled on the upright view": r.exif_upright_frame,
            "of these, frame decided by the job's date (image_size could not tell)":
                r.exif_by_date,
            "lines naming an image an earlier line named (kept on its side)": r.shared_files,
            "video polygons, polylines and keypoints skipped": r.video_shapes_skipped,
        }

    def to_dict(self) -> dict:
        """The summary as plain values (what ``tfrecord-lite convert --json`` prints)."""
        r = self.report
        return {
            "output": str(self.output),
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "label_attribute": r.label_attribute,
            "task": r.task,
            "splits": {
                split: {"samples": s.samples, "folder": s.folder, "files": len(s.files)}
                for split, s in self.splits.items()
            },
            "classes": [{"name": n, "objects": self.objects.get(n, 0)} for n in self.classes],
            "images_without_objects": self.negatives,
            "video": {"sequences": r.sequences, "frames": r.frames},
            "fixes": {k: v for k, v in self.fixes.items() if v},
            "converted_images": dict(sorted(r.converted.items())),
            "moved_to_fill_a_split": self.moved_to_fill,
            "split_from_source": self.source_split,
            "warnings": list(self.warnings),
            "notices": r.notices,
            "skipped": dict(sorted(r.skipped.items())),
        }


def split_warning(fraction: float, fmt: str = "tfrecord") -> str | None:
    """What ModelPack will say about ``--split 0`` or ``1`` (it refuses an empty split); the
    Object Detection API (``-f tfod``) evaluates in a job of its own, so only empty train
    matters there."""
    if fraction >= 1.0 and fmt == "tfod":
        return "--split 1 leaves train empty: the Object Detection API's train input reads " \
            "no records"
    if fmt == "tfod":
        return None
    if fraction <= 0.0:
        return "--split 0 leaves validation empty: ModelPack refuses a dataset without " \
            "validation samples"
    if fraction >= 1.0:
        return "--split 1 leaves train empty: ModelPack refuses a dataset without " \
            "training samples"
    return None


def keep_warning(count: int) -> str:
    """The one warning ``--keep-image-bytes`` earns when it kept images ModelPack can't read."""
    return f"--keep-image-bytes: {count} image(s) stored as they came that ModelPack may not " \
        "read (tf.io.decode_jpeg does not give them 3 channels); convert without the option"


# --- work on samples: in forked workers (they inherit the job without pickling it), or here ---


@dataclass(frozen=True)
class _Job:
    """What every task on samples needs; handed to each call, inherited by forked workers."""

    samples: Sequence[Sample] | Mapping[int, Sample]  # all, or a task's own (Beam) by index
    classes: list[str]
    manifest: Path
    cache: Path  # images re-encoded upright, kept between measuring and writing
    format: str = "tfrecord"  # which Example the records hold: "tfrecord" or "tfod"
    masks: bool = False  # -f tfod --masks

    def cached(self, i: int) -> Path:
        return self.cache / str(i)


def _per_image_chunk(job: _Job, task: tuple[str, str, Sequence[int], Sequence[str]]) -> int:
    fmt, folder, indices, stems = task
    write = _PER_IMAGE[fmt].write_sample
    return sum(
        write(Path(folder), job.samples[i], stem, job.samples[i].read_image(), job.classes)
        for i, stem in zip(indices, stems)
    )


def _coco_chunk(job: _Job, task: tuple[str, Sequence[int]]) -> tuple[int, list[tuple]]:
    """Write each sample's image into ``folder`` under its output name, and trace its mask;
    returns the bytes written and each sample's COCO region polygons and box segments."""
    folder, indices = task
    written = 0
    regions = []
    for i in indices:
        sample = job.samples[i]
        with open(os.path.join(folder, sample.name), "wb") as f:
            written += f.write(sample.read_image())
        if sample.read_mask is None:
            regions.append(((), ()))
        elif sample.mask_of_boxes:
            regions.append(((), coco_format.box_segments(mask_pixels(sample.read_mask), sample)))
        else:
            regions.append((coco_format.mask_polygons(mask_pixels(sample.read_mask),
                                                      sample.width, sample.height), ()))
    return written, regions


def _measure_chunk(job: _Job, indices: Sequence[int]) -> list[tuple[int, bytes, bytes]]:
    """Each sample's image size and record prefix and suffix.  An image whose size is not known
    in advance (re-encoded upright) is made here and kept in the job's cache until written.
    A tfod record's image format comes from the image's first bytes (its hash is put in when the
    image is written)."""
    out = []
    tfod = job.format == "tfod"
    for i in indices:
        sample = job.samples[i]
        size = sample.image_bytes
        data = None
        if size is None:
            data = sample.read_image()
            job.cache.mkdir(parents=True, exist_ok=True)
            job.cached(i).write_bytes(data)
            size = len(data)
        if tfod:
            head = data[: tfod_format.HEAD] if data is not None else _image_head(sample)
            out.append((size, *tfod_format.record_parts(sample, size, head, i + 1, job.classes,
                                                        job.masks)))
        else:
            out.append((size, *modelpack.sample_parts(sample, size)))
    return out


def _image_head(sample: Sample) -> bytes:
    """The first bytes of the sample's image, read alone when its reader can."""
    head = getattr(sample.read_image, "head", None)
    data = head(tfod_format.HEAD) if head is not None else None
    return data if data is not None else sample.read_image()[: tfod_format.HEAD]


def _range_task(job: _Job, task: tuple[str, int, list[tuple[int, int, bytes, bytes]]]) -> int:
    """Write one planned range of a shard's records from byte ``offset`` of its file; returns
    how many records."""
    path, offset, records = task
    keyed = job.format == "tfod"  # its records hold the hash of the image they hold
    with TFRecordWriter(path, offset=offset, at_once=True) as writer:  # the image is hot
        for i, size, prefix, suffix in records:
            sample = job.samples[i]
            image = job.cached(i).read_bytes() if sample.image_bytes is None \
                else sample.read_image()
            if len(image) != size:
                raise InputError(
                    str(job.manifest),
                    sample.line,
                    f"image changed while converting ({size} bytes, now {len(image)})",
                    value=sample.source_ref,
                    hint="convert again once the images stay put",
                    reason="changed-image",
                )
            writer.write_parts((prefix, image, tfod_format.with_key(suffix, image) if keyed
                                else suffix))
    return len(records)


# --- the pipeline -------------------------------------------------------------------------------


def refusal(output: str | os.PathLike[str], format: str, masks: bool = False) -> str | None:
    """Why a conversion into ``output`` in ``format`` cannot start, found before any work (and
    before an ``s3://`` input is fetched); the CLI and the API ask the same question here."""
    if not str(output).strip():
        return "-o/--output is empty (an unset shell variable?); name the folder for the dataset"
    if format == "edgefirst" and not edgefirst_format.available():
        return f"-f edgefirst needs Au-Zone's edgefirst-client: {edgefirst_format.INSTALL}"
    if masks and format != "tfod":
        return f"--masks is an option of -f tfod, not of -f {format}"
    return None


def convert(options: ConvertOptions, progress: Progress | None = None) -> ConvertResult:
    """Run the whole conversion; on any error nothing that looks like a dataset is left."""
    if options.format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {options.format!r}")
    why = refusal(options.output, options.format, options.masks)
    if why:
        raise OutputError(why)
    return run_staged(options, lambda root: _build(options, root, progress))


def run_staged(options: ConvertOptions, build: Callable[[Path], ConvertResult]
               ) -> ConvertResult:
    """``build`` the dataset into a stage and publish it; on any error nothing that looks like a
    dataset is left.  Every engine publishes through here."""
    started = time.monotonic()
    stage = Stage(options.output, options.overwrite, _inputs(options))  # refuse before work
    try:
        result = build(stage.dir)
        with _signals_held():  # an interrupt must not fall between removing and moving in
            stage.publish()
    except OSError as exc:
        stage.discard()
        what = "no space left on device" if exc.errno == errno.ENOSPC else exc.strerror or exc
        raise OutputError(
            f"cannot write the dataset: {what} ({exc.filename or options.output}); "
            "nothing was published"
        ) from exc
    except BaseException as exc:
        if stage.published:  # a held Ctrl-C arrives once the dataset stands complete
            exc.after = f"the dataset was published in {options.output}"
        else:
            stage.discard()
        raise
    result.seconds = time.monotonic() - started
    return result


def _inputs(options: ConvertOptions) -> list[tuple[str, Path]]:
    """What the output may not be or hold (it may lie inside the folders)."""
    if options.annotations.is_dir():
        return [("the annotations folder", options.annotations),
                ("the images folder", options.images)]
    return [("the manifest's folder", options.annotations.parent),
            ("the images folder", options.images),
            ("the manifest", options.annotations)]


@dataclass
class CheckResult:
    """What a conversion would do, found without writing anything (``--dry-run``)."""

    read: ReadResult
    train: int
    validation: int
    replaces: int  # files of an existing dataset that --overwrite would replace

    @property
    def would_fail(self) -> bool:
        """A conversion with the same options would stop on an invalid line or image."""
        return self.read.report.invalid > 0


def check(options: ConvertOptions) -> CheckResult:
    """Read the manifest, resolve every image and read its header, split, and check the output,
    as ``convert`` would; write nothing.  Every problem is counted, not just the first."""
    replaces = check_output(options.output, options.overwrite, _inputs(options))
    read = read_input(options, SKIP)
    _refuse_lost_labels(options, read)
    train, val, _, _ = sides(options, read)
    return CheckResult(read, len(train), len(val), len(replaces))


def read_input(options: ConvertOptions, policy: ErrorPolicy, progress: Progress | None = None
               ) -> ReadResult:
    """The samples of a Ground Truth manifest, or of a COCO, YOLO or VOC dataset."""
    if options.input == "groundtruth":
        return read_manifest(options.annotations, _read_options(options, policy), progress)
    from tfrecord_lite.pipeline.sources import read_source

    return read_source(options.input, options.annotations, _read_options(options, policy))


def sides(options: ConvertOptions, read: ReadResult) -> tuple[list[int], list[int], int, bool]:
    """Train and validation indices (each shuffled by the seed), how many samples moved to fill
    an empty side, and whether the sides are the source's own split (kept when -s is not
    given)."""
    keys = read.split_keys  # one file, one side: its lines move together
    if options.keep_source_split and read.source_split is not None:
        return *source_indices(read.source_split, options.seed), 0, True
    train, val = split_indices(keys, options.split, options.seed)
    return train, val, fill_empty_side(train, val, keys, options.split, options.seed), False


def _refuse_lost_labels(options: ConvertOptions, read: ReadResult) -> None:
    """An image-classification job written as ModelPack TFRecords would lose every label: its
    schema has boxes, not image-level classes."""
    r = read.report
    if r.task != "image-classification" or options.format in TAG_FORMATS:
        return
    others = sorted(t for t in r.found_types if "classification" not in t)
    hint = "convert with -f json, which keeps them as tags"
    if others:
        hint += f", or pick a label attribute of another type with --label-attribute " \
                f"(the manifest also has {', '.join(others)})"
    raise InputError(str(options.annotations), 0,
                     f"label attribute {r.label_attribute!r} is an image-classification job, "
                     f"and -f {options.format} has no place for image-level labels: every label "
                     "would be lost", hint=hint, reason="labels-lost")


def _read_options(options: ConvertOptions, policy: ErrorPolicy) -> ReadOptions:
    return ReadOptions(
        images_dir=options.images,
        label_attribute=options.label_attribute,
        classes_file=options.classes_file,
        policy=policy,
        drop_rejected=options.drop_rejected,
        workers=options.workers,
        image_checks=options.image_checks,
        exif_frame=options.exif_frame,
        keep_image_bytes=options.keep_image_bytes,
    )


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (delivered when the block ends), in the main thread only."""
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _build(options: ConvertOptions, root: Path, progress: Progress | None) -> ConvertResult:
    read = read_input(options, options.policy, progress)
    result, train, val = start_result(options, read)
    samples, classes = read.samples, read.classes
    job = _Job(samples, classes, options.annotations, root / ".upright", options.format,
               options.masks)
    write_split = _CocoSplits().write if options.format in ("coco", "edgefirst") else {
        "tfrecord": _write_tfrecord_split, "tfod": _write_tfrecord_split,
        "json": _write_per_image_split,
        "darknet": _write_per_image_split}[options.format]
    target = root / ".coco" if options.format == "edgefirst" else root  # converted from COCO
    with Workers(options.workers, job) as pool:  # forked once, now that the samples are known
        for split, indices in zip(SPLITS, (train, val)):
            split_info = write_split(options, target, split, indices, progress, pool)
            result.splits[split] = split_info
            result.bytes += sum(f["bytes"] for f in split_info.files)
    if job.cache.exists():
        shutil.rmtree(job.cache)
    if options.format == "edgefirst":
        _coco_to_edgefirst(options, root, target, result)
    if options.format == "tfod":
        result.bytes += tfod_format.write_label_map(root / tfod_format.LABEL_MAP, classes)
    write_info(options, root, result)
    return result


def start_result(options: ConvertOptions, read: ReadResult
                 ) -> tuple[ConvertResult, list[int], list[int]]:
    """From the read manifest: the result's counts and warnings, and the split (each side's
    sample indices in record order).  Shared by every engine, so they split alike."""
    _refuse_lost_labels(options, read)
    classes = read.classes
    train, val, moved, own = sides(options, read)
    result = ConvertResult(options.output, classes, {}, read.report,
                           Counter({classes[k]: n for k, n in read.report.objects.items()}),
                           read.report.negatives)
    result.moved_to_fill, result.source_split = moved, own
    empty = None if own else split_warning(options.split, options.format)
    if empty:
        result.warnings.append(empty)
    if read.report.kept_undecodable:
        result.warnings.append(keep_warning(read.report.kept_undecodable))
    return result, train, val


def write_info(options: ConvertOptions, root: Path, result: ConvertResult) -> None:
    """``dataset_info.yaml``, written last: the stage is complete once this exists."""
    report = result.report
    base = options.path_prefix or str(Path(os.path.abspath(options.output)))
    extra = {
        "version": __version__,
        "format": options.format,
        "source": options.source or str(options.annotations),
        **({} if options.input == "groundtruth" else {"input": options.input}),
        "label_attribute": report.label_attribute,
        "task": report.task,
        "seed": options.seed,
        "split": "source" if result.source_split else options.split,
        "partition_mb": options.partition_mb,
    }
    if options.format == "tfod":
        extra.update(label_map=tfod_format.LABEL_MAP, masks=options.masks)
    text = info.render(result.classes, result.splits["train"], result.splits["validation"], base,
                       extra, kind=INFO_TYPES.get(options.format))
    info.write(root / INFO, text)


def plan_tfrecord_split(options: ConvertOptions, split: str, sizes: Sequence[int]
                        ) -> shards.ShardPlan:
    """The shards of one split from its records' framed sizes, in record order: the one plan
    every engine writes."""
    prefix = _SHARDED.get(options.format, tfrecord_format).FOLDERS[split][1]
    max_bytes = max(1, int(options.partition_mb * 1024 * 1024))
    return shards.plan_split(sizes, max_bytes, prefix, _RANGE_BYTES)


def framed_size(measured: tuple[int, bytes, bytes]) -> int:
    """A record's length on disk from what ``_measure_chunk`` gives for it."""
    size, prefix, suffix = measured
    return len(prefix) + size + len(suffix) + FRAME_OVERHEAD


def _counted(items: Iterator[list], split: str, total: int, progress: Progress | None):
    done = 0
    for batch in items:
        yield from batch
        done += len(batch)
        if progress:
            progress(split, done, total)


def _write_tfrecord_split(options, root, split, indices, progress, pool) -> info.SplitInfo:
    """-f tfrecord and -f tfod.  Measure every record (a ModelPack record's size is known before
    its image is read), plan the shards from the sizes, then write the plan's ranges: in the
    workers, or here with one.  The bytes depend on the plan alone, so they are the same for
    any number of workers."""
    folder_name = _SHARDED[options.format].FOLDERS[split][0]
    folder = root / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    measured = _counted(pool.map(_measure_chunk, chunked(indices, 256)), f"measuring {split}",
                        len(indices), progress)
    records = [(i, *m) for m, i in zip(measured, indices)]  # measured first: its last count
    plan = plan_tfrecord_split(options, split, [framed_size(r[1:]) for r in records])
    tasks = [(str(folder / plan.shards[r.shard].name), r.offset,
              records[r.first : r.first + r.count]) for r in _apart(plan.ranges)]
    done = 0
    for written in pool.map(_range_task, tasks):
        done += written
        if progress:
            progress(split, done, len(indices))
    files = [{"name": s.name, "records": s.count, "bytes": s.bytes} for s in plan.shards]
    return info.SplitInfo(folder_name, len(indices), files)


def _apart(ranges: Sequence[shards.PlannedRange]) -> list[shards.PlannedRange]:
    """The ranges taken in turn from each shard (every shard's first, then every second...), so
    that workers writing at the same time mostly write different files: a file takes one write
    at a time (Linux file systems lock it while its pages are filled)."""
    turn: dict[int, int] = {}
    keyed = []
    for r in ranges:
        turn[r.shard] = k = turn.get(r.shard, -1) + 1
        keyed.append(((k, r.shard), r))
    return [r for _, r in sorted(keyed, key=lambda kr: kr[0])]


def _write_per_image_split(options, root, split, indices, progress, pool) -> info.SplitInfo:
    """JSON or Darknet: each sample's image and label file, named by a stem unique in the
    split folder."""
    name = _PER_IMAGE[options.format].FOLDERS[split]
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    samples = pool.state.samples
    stems = per_image.stems([samples[i].name for i in indices])
    tasks = [
        (options.format, str(folder), indices[i : i + _CHUNK], stems[i : i + _CHUNK])
        for i in range(0, len(indices), _CHUNK)
    ]
    written = 0
    done = 0
    for task, nbytes in zip(tasks, pool.map(_per_image_chunk, tasks)):
        written += nbytes
        done += len(task[2])
        if progress:
            progress(split, done, len(indices))
    files = [{"name": name, "records": len(indices), "bytes": written}] if indices else []
    return info.SplitInfo(name, len(indices), files)


class _CocoSplits:
    """Writes COCO splits whose image and annotation ids are unique in the dataset, so that
    tools merging the splits keep them apart."""

    def __init__(self) -> None:
        self.image_id = self.annotation_id = 1

    def write(self, options, root, split, indices, progress, pool) -> info.SplitInfo:
        """Images written by the workers; the split's annotation file assembled here, in
        order."""
        folder = root / coco_format.FOLDERS[split]
        folder.mkdir(parents=True, exist_ok=True)
        job: _Job = pool.state
        tasks = [(str(folder), indices[i : i + _CHUNK]) for i in range(0, len(indices), _CHUNK)]
        written = done = 0
        regions: list[tuple] = []
        for task, (nbytes, polygons) in zip(tasks, pool.map(_coco_chunk, tasks)):
            written += nbytes
            regions += polygons
            done += len(task[1])
            if progress:
                progress(split, done, len(indices))
        images, annotations = [], []
        for i, (polygons, segments) in zip(indices, regions):
            sample = job.samples[i]
            images.append(coco_format.image_entry(self.image_id, sample))
            entries = coco_format.annotation_entries(self.image_id, sample, self.annotation_id,
                                                     polygons, segments)
            annotations += entries
            self.image_id += 1
            self.annotation_id += len(entries)
        doc = coco_format.document(job.classes, images, annotations)
        written += coco_format.write_annotations(root / coco_format.ANNOTATIONS[split], doc)
        name = coco_format.ANNOTATIONS[split]
        files = [{"name": name, "records": len(indices), "bytes": written}]
        return info.SplitInfo(coco_format.FOLDERS[split], len(indices), files, annotations=name)


def _coco_to_edgefirst(options, root: Path, coco: Path, result: ConvertResult) -> None:
    """Turn the staged COCO dataset into ``<name>.arrow`` + ``<name>/`` with Au-Zone's client."""
    name = edgefirst_format.name_for(options.output)
    arrow = root / f"{name}.arrow"
    rows = edgefirst_format.from_coco(coco, arrow, include_masks=True)
    shutil.rmtree(coco)
    images = root / name
    result.bytes = arrow.stat().st_size + sum(p.stat().st_size for p in images.iterdir())
    for split, s in result.splits.items():
        s.folder, s.annotations = name, arrow.name
        s.files = [{"name": arrow.name, "records": rows, "bytes": arrow.stat().st_size}] \
            if split == "train" else []
