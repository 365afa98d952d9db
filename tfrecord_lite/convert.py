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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, shards
from .dataset import (
    coco_format,
    darknet_format,
    edgefirst_format,
    info,
    json_format,
    modelpack,
    per_image,
    tfrecord_format,
)
from .dataset.sample import Sample
from .dataset.split import fill_empty_side, split_indices
from .errors import ErrorPolicy, InputError, OutputError
from .groundtruth.images import ImageChecks
from .groundtruth.reader import ReadOptions, ReadReport, ReadResult, read_manifest
from .parallel import Workers, chunked
from .progress import Progress
from .publish import INFO, Stage, check_output
from .records import FRAME_OVERHEAD, TFRecordWriter

FORMATS = ("tfrecord", "json", "darknet", "coco", "edgefirst")
INFO_TYPES = {"tfrecord": "tfrecord", "darknet": "darknet"}  # yaml ``type`` (ModelPack's reader)
_PER_IMAGE = {"json": json_format, "darknet": darknet_format}  # formats with files per image
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
    policy: ErrorPolicy = "raise"
    drop_rejected: bool = False
    workers: int = 1
    overwrite: bool = False
    path_prefix: str | None = None
    image_checks: ImageChecks = ImageChecks()
    exif_frame: str = "auto"  # which frame EXIF-rotated images' labels were drawn on
    keep_image_bytes: bool = False  # store every image as it came, even those ModelPack can't read
    source: str | None = None  # the manifest as dataset_info.yaml names it (an s3:// URL)


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


def split_warning(fraction: float) -> str | None:
    """What ModelPack will say about ``--split 0`` or ``1`` (it refuses an empty split)."""
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


# --- work on samples: in forked workers (they see _JOB without pickling it), or here ------------

_JOB: dict = {}


def _encode_chunk(indices: Sequence[int]) -> list[tuple[bytes, bytes, bytes]]:
    """Each sample's record as ``(prefix, image, suffix)``: written without joining them."""
    samples: list[Sample] = _JOB["samples"]
    return [modelpack.parts(samples[i], samples[i].read_image()) for i in indices]


def _per_image_chunk(task: tuple[str, str, Sequence[int], Sequence[str]]) -> int:
    fmt, folder, indices, stems = task
    samples: list[Sample] = _JOB["samples"]
    classes = _JOB["classes"]
    write = _PER_IMAGE[fmt].write_sample
    return sum(
        write(Path(folder), samples[i], stem, samples[i].read_image(), classes)
        for i, stem in zip(indices, stems)
    )


def _coco_chunk(task: tuple[str, Sequence[int]]) -> tuple[int, list[list]]:
    """Write each sample's image into ``folder`` under its output name, and trace its mask;
    returns the bytes written and each sample's COCO polygons."""
    folder, indices = task
    samples: list[Sample] = _JOB["samples"]
    written = 0
    regions = []
    for i in indices:
        sample = samples[i]
        with open(os.path.join(folder, sample.name), "wb") as f:
            written += f.write(sample.read_image())
        regions.append([] if sample.read_mask is None else coco_format.mask_polygons(
            sample.read_mask(), sample.width, sample.height))
    return written, regions


def _cached(i: int) -> str:
    """Where sample ``i``'s upright image is kept between measuring and writing."""
    return os.path.join(_JOB["cache"], str(i))


def _parts_chunk(indices: Sequence[int]) -> list[tuple[int, bytes, bytes]]:
    """Each sample's image size and record prefix and suffix.  An image whose size is not known
    in advance (re-encoded upright) is made here and kept in the stage's cache until written."""
    samples: list[Sample] = _JOB["samples"]
    out = []
    for i in indices:
        sample = samples[i]
        size = sample.image_bytes
        if size is None:
            data = sample.read_image()
            os.makedirs(_JOB["cache"], exist_ok=True)
            with open(_cached(i), "wb") as f:
                f.write(data)
            size = len(data)
        out.append((size, *modelpack.sample_parts(sample, size)))
    return out


def _range_task(task: tuple[str, int, list[tuple[int, int, bytes, bytes]]]) -> int:
    """Write a run of a shard's records from byte ``offset`` of its file (laid out in advance,
    so several workers can fill one shard at once); returns how many records."""
    path, offset, records = task
    samples: list[Sample] = _JOB["samples"]
    with TFRecordWriter(path, offset=offset) as writer:
        for i, size, prefix, suffix in records:
            sample = samples[i]
            if sample.image_bytes is None:
                with open(_cached(i), "rb") as f:
                    image = f.read()
            else:
                image = sample.read_image()
            if len(image) != size:
                raise InputError(
                    str(_JOB["manifest"]),
                    sample.line,
                    f"image changed while converting ({size} bytes, now {len(image)})",
                    value=sample.source_ref,
                    hint="convert again once the images stay put",
                    reason="changed-image",
                )
            writer.write_parts((prefix, image, suffix))
    return len(records)


# --- the pipeline -------------------------------------------------------------------------------


def convert(options: ConvertOptions, progress: Progress | None = None) -> ConvertResult:
    """Run the whole conversion; on any error nothing that looks like a dataset is left."""
    if options.format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {options.format!r}")
    if options.format == "edgefirst" and not edgefirst_format.available():
        raise OutputError(f"-f edgefirst needs Au-Zone's edgefirst-client: "
                          f"{edgefirst_format.INSTALL}")
    started = time.monotonic()
    stage = Stage(options.output, options.overwrite, _inputs(options))  # refuse before work
    try:
        result = _build(options, stage.dir, progress)
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
    """The folders the output must keep apart from."""
    return [("the manifest's folder", options.annotations.parent),
            ("the images folder", options.images)]


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
    read = read_manifest(options.annotations, _read_options(options, policy="skip"))
    _refuse_lost_labels(options, read)
    train, val = split_indices(read.split_keys, options.split, options.seed)
    fill_empty_side(train, val, read.split_keys, options.split, options.seed)
    return CheckResult(read, len(train), len(val), len(replaces))


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
    read = read_manifest(options.annotations, _read_options(options, options.policy), progress)
    _refuse_lost_labels(options, read)
    samples, classes = read.samples, read.classes
    keys = read.split_keys  # one file, one side: its lines move together
    train, val = split_indices(keys, options.split, options.seed)
    result = ConvertResult(options.output, classes, {}, read.report,
                           Counter({classes[k]: n for k, n in read.report.objects.items()}),
                           read.report.negatives)
    result.moved_to_fill = fill_empty_side(train, val, keys, options.split, options.seed)
    empty = split_warning(options.split)
    if empty:
        result.warnings.append(empty)
    if read.report.kept_undecodable:
        result.warnings.append(keep_warning(read.report.kept_undecodable))
    cache = root / ".upright"  # images re-encoded upright, between measuring and writing
    _JOB.update(samples=samples, classes=classes, manifest=options.annotations, cache=str(cache))
    write_split = {"tfrecord": _write_tfrecord_split, "json": _write_per_image_split,
                   "darknet": _write_per_image_split, "coco": _write_coco_split,
                   "edgefirst": _write_coco_split}[options.format]
    target = root / ".coco" if options.format == "edgefirst" else root  # converted from COCO
    try:
        with Workers(options.workers) as pool:  # forked once, now that the samples are known
            for split, indices in zip(SPLITS, (train, val)):
                split_info = write_split(options, target, split, indices, progress, pool)
                result.splits[split] = split_info
                result.bytes += sum(f["bytes"] for f in split_info.files)
    finally:
        _JOB.clear()
    if cache.exists():
        shutil.rmtree(cache)
    if options.format == "edgefirst":
        _coco_to_edgefirst(options, root, target, result)
    base = options.path_prefix or str(Path(os.path.abspath(options.output)))
    extra = {
        "version": __version__,
        "format": options.format,
        "source": options.source or str(options.annotations),
        "label_attribute": read.report.label_attribute,
        "task": read.report.task,
        "seed": options.seed,
        "split": options.split,
        "partition_mb": options.partition_mb,
    }
    text = info.render(classes, result.splits["train"], result.splits["validation"], base, extra,
                       kind=INFO_TYPES.get(options.format))
    info.write(root / INFO, text)  # last: the stage is complete once this exists
    return result


def _counted(items: Iterator[list], split: str, total: int, progress: Progress | None):
    done = 0
    for batch in items:
        yield from batch
        done += len(batch)
        if progress:
            progress(split, done, total)


def _write_tfrecord_split(options, root, split, indices, progress, pool) -> info.SplitInfo:
    max_bytes = max(1, int(options.partition_mb * 1024 * 1024))
    if pool.workers > 1 and indices:
        return _write_shards_in_parallel(root, split, indices, progress, max_bytes, pool)
    records = _counted(
        map(_encode_chunk, chunked(indices, _CHUNK)),
        split,
        len(indices),
        progress,
    )
    return tfrecord_format.write_split(root, split, records, max_bytes)


def _write_shards_in_parallel(root, split, indices, progress, max_bytes, pool) -> info.SplitInfo:
    """Lay the shards out from the records' sizes (known before any image is read), then let
    the workers write them in byte ranges of about ``_RANGE_BYTES``: reading, encoding and
    writing all run in parallel, a shard's tail never leaves a worker idle, and the files are
    the same bytes the one-process writer makes."""
    folder_name, prefix = tfrecord_format.FOLDERS[split]
    folder = root / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    parts = _counted(pool.map(_parts_chunk, chunked(indices, 256)), f"measuring {split}",
                     len(indices), progress)
    records = [(i, *p) for p, i in zip(parts, indices)]  # parts first: its last count is seen
    sizes = [len(h) + n + len(t) + FRAME_OVERHEAD for _, n, h, t in records]
    counts = shards.plan_shards(sizes, max_bytes)
    files, tasks, start = [], [], 0
    for k, count in enumerate(counts):
        name = str(shards.ShardName(prefix, k, len(counts)))
        offset = 0
        for run in shards.plan_shards(sizes[start : start + count], _RANGE_BYTES):
            tasks.append((str(folder / name), offset, records[start : start + run]))
            offset += sum(sizes[start : start + run])
            start += run
        files.append({"name": name, "records": count, "bytes": offset})
    done = 0
    for written in pool.map(_range_task, tasks):
        done += written
        if progress:
            progress(split, done, len(indices))
    return info.SplitInfo(folder_name, len(indices), files)


def _write_per_image_split(options, root, split, indices, progress, pool) -> info.SplitInfo:
    """JSON or Darknet: each sample's image and label file, named by a stem unique in the
    split folder."""
    name = _PER_IMAGE[options.format].FOLDERS[split]
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    samples = _JOB["samples"]
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


def _write_coco_split(options, root, split, indices, progress, pool) -> info.SplitInfo:
    """Images written by the workers; the split's annotation file assembled here, in order."""
    folder = root / coco_format.FOLDERS[split]
    folder.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = _JOB["samples"]
    tasks = [(str(folder), indices[i : i + _CHUNK]) for i in range(0, len(indices), _CHUNK)]
    written = done = 0
    regions: list[list] = []
    for task, (nbytes, polygons) in zip(tasks, pool.map(_coco_chunk, tasks)):
        written += nbytes
        regions += polygons
        done += len(task[1])
        if progress:
            progress(split, done, len(indices))
    images, annotations = [], []
    ids = _JOB.setdefault("coco_ids", [1, 1])  # image and annotation ids unique in the dataset,
    for i, polygons in zip(indices, regions):  # so tools that merge the splits keep them apart
        images.append(coco_format.image_entry(ids[0], samples[i]))
        entries = coco_format.annotation_entries(ids[0], samples[i], ids[1], polygons)
        annotations += entries
        ids[0] += 1
        ids[1] += len(entries)
    doc = coco_format.document(_JOB["classes"], images, annotations)
    written += coco_format.write_annotations(root / coco_format.ANNOTATIONS[split], doc)
    files = [{"name": coco_format.ANNOTATIONS[split], "records": len(indices), "bytes": written}]
    return info.SplitInfo(coco_format.FOLDERS[split], len(indices), files,
                          annotations=coco_format.ANNOTATIONS[split])


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
