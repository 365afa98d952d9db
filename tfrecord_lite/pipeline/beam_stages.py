"""The Beam pipeline of ``--engine beam``: the converter's own stages as Beam steps.

- the manifest's spans (``plan_spans``) surveyed in parallel (``reader._survey_chunk``); the
  label-attribute and class census a combine, merged in manifest order (``merge_surveys``);
- the class table (``reader.make_context``) a side input of the spans' reading and image-header
  checks, in parallel (``reader._read_chunk``);
- the one step that sees the whole index (``reader.assemble``, ``convert.start_result``): error
  policy, unique names, split keys, the stable hash split and the record order; the samples
  then partitioned by split;
- records measured in parallel (``convert._measure_chunk``), each split's shard plan made once
  (``convert.plan_tfrecord_split``: the same ``--partition`` cap and ``shards.plan_split``);
- ``-f json`` / ``darknet``: stems made in the index step (``per_image.stems``), each batch's
  files written in parallel (``convert._per_image_chunk``);
- one task per shard writing its planned bytes (``convert._range_task``) under a temporary name
  renamed into place, so a retried task writes the same file; the counts combined and checked
  against the plans; ``dataset_info.yaml`` last.

Every function a step calls is at module level (bound with ``functools.partial``), so any
runner pickles it by name.  The stage folder must be a path the launcher and every worker see
alike: always so for the local runner, a shared file system on a cluster.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import os
import pickle
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.pvalue import AsList, AsSingleton, TaggedOutput

from tfrecord_lite.format.errors import TFRecordLiteError
from tfrecord_lite.pipeline import convert as _convert
from tfrecord_lite.pipeline import dataset_info as info
from tfrecord_lite.pipeline.convert import SPLITS, ConvertOptions, ConvertResult
from tfrecord_lite.pipeline.errors import ErrorPolicy, OutputError
from tfrecord_lite.pipeline.formats import darknet_format, json_format, per_image, tfrecord_format
from tfrecord_lite.pipeline.groundtruth import reader
from tfrecord_lite.pipeline.groundtruth.classes import read_classes_file
from tfrecord_lite.pipeline.groundtruth.images import ImageIndex
from tfrecord_lite.pipeline.groundtruth.manifest import AttributeCensus, plan_spans

ERRORS = ".beam-errors"  # pickled errors of failed tasks: runners pass on only their text
TMP = ".beam-tmp"  # shards being written, renamed into their split folder once complete
RESULT = ".beam-result"  # the ConvertResult, handed from the last step to the launcher
PER_IMAGE = {"json": json_format, "darknet": darknet_format}  # formats with files per image
UPRIGHT = ".upright"  # the converter's cache of images re-encoded upright (convert._Job.cache)


@contextlib.contextmanager
def _reported(root: str) -> Iterator[None]:
    """Keep a task's own error (bad input, a full disk) where the launcher finds it: runners
    hand back only its text, and the user is owed the converter's one-line message."""
    try:
        yield
    except (TFRecordLiteError, OSError) as exc:
        folder = os.path.join(root, ERRORS)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{uuid.uuid4().hex}.pickle"), "wb") as f:
            pickle.dump(exc, f)
        raise


class InOrder(beam.CombineFn):
    """Gathers ``(key, value)`` pairs from any worker in any order and hands ``finish`` the
    values sorted by key (manifest order, record order): the merges that depend on order."""

    def __init__(self, root: str, finish) -> None:
        super().__init__()
        self.root = root
        self.finish = finish

    def create_accumulator(self) -> list:
        return []

    def add_input(self, acc: list, item) -> list:
        acc.append(item)
        return acc

    def merge_accumulators(self, accs) -> list:
        return [item for acc in accs for item in acc]

    def extract_output(self, acc: list):
        with _reported(self.root):
            return self.finish([v for _, v in sorted(acc, key=lambda kv: kv[0])])


@dataclass(frozen=True)
class Census:
    """The first pass's tallies over the whole manifest."""

    census: AttributeCensus
    unions: dict
    lines: int


@dataclass(frozen=True)
class Summary:
    """What the last step needs of the index: the result so far and each split's size."""

    result: ConvertResult
    sizes: dict[str, int]
    skipped: tuple = ()  # the InputErrors skipped under --skip-invalid, in manifest order


def survey(root: str, path: str, item: tuple[int, object]) -> tuple[int, object]:
    k, span = item
    with _reported(root):
        return k, reader._survey_chunk(path, span)


def merge(policy: ErrorPolicy, surveys: list) -> Census:
    return Census(*reader.merge_surveys(surveys, policy))


def context(root: str, options: ConvertOptions, census: Census):
    """The class table and all else the reading of each span needs (its side input)."""
    with _reported(root):
        read_options = replace(_convert._read_options(options, options.policy), workers=1)
        index = ImageIndex(Path(options.images))
        fixed = read_classes_file(options.classes_file) if options.classes_file else None
        return reader.make_context(str(options.annotations), read_options, index, fixed,
                                   census.census, census.unions, census.lines)


def read_span(root: str, item: tuple[int, object], ctx) -> tuple[int, tuple]:
    k, span = item
    with _reported(root):
        return k, reader._read_chunk(ctx, span)


class Index(beam.DoFn):
    """The one step that sees the whole index.  Emits each sample with its split and place
    in it, and (tagged ``summary``) the result so far."""

    def __init__(self, root: str, options: ConvertOptions) -> None:
        super().__init__()
        self.root = root
        self.options = options

    def process(self, chunks: list, ctx, census: Census):
        skipped: list = []  # told to the launcher's on_skip, not printed in a worker
        with _reported(self.root):
            policy = replace(ctx.options.policy, on_skip=skipped.append)
            ctx = replace(ctx, options=replace(ctx.options, policy=policy),
                          report=copy.deepcopy(ctx.report))  # a retry starts from zero
            read = reader.assemble(ctx, census.census, chunks)
            result, train, val = _convert.start_result(self.options, read)
        sizes = {}
        for split, indices in zip(SPLITS, (train, val)):
            sizes[split] = len(indices)
            names = [read.samples[i].name for i in indices]
            stems = per_image.stems(names) if self.options.format in PER_IMAGE else names
            for pos, (i, stem) in enumerate(zip(indices, stems)):
                yield split, pos, i, read.samples[i], stem
        yield TaggedOutput("summary", Summary(result, sizes, tuple(skipped)))


def side_of(record: tuple, n: int) -> int:
    """The partition of a sample: its split, which the index chose by the stable hash."""
    return SPLITS.index(record[0])


def _job(root: str, options: ConvertOptions, samples: dict, classes: list[str] | None = None
         ) -> _convert._Job:
    return _convert._Job(samples, classes or [], options.annotations, Path(root) / UPRIGHT)


def measure(root: str, options: ConvertOptions, batch: list) -> list:
    """Each sample's record size, prefix and suffix, as on one machine."""
    with _reported(root):
        job = _job(root, options, {i: sample for _, _, i, sample, _ in batch})
        measured = _convert._measure_chunk(job, [i for _, _, i, _, _ in batch])
    return [(pos, i, sample, *m) for (_, pos, i, sample, _), m in zip(batch, measured)]


def write_files(root: str, options: ConvertOptions, split: str, batch: list, summary: Summary
                ) -> tuple[str, int, int, int]:
    """-f json / darknet: each sample's image and label file under its stem, as on one machine
    (``convert._per_image_chunk``); a retried task writes the same files again."""
    with _reported(root):
        folder = Path(root) / PER_IMAGE[options.format].FOLDERS[split]
        folder.mkdir(exist_ok=True)
        job = _job(root, options, {i: sample for _, _, i, sample, _ in batch},
                   summary.result.classes)
        task = (options.format, str(folder), [r[2] for r in batch], [r[4] for r in batch])
        written = _convert._per_image_chunk(job, task)
    return split, -1, len(batch), written


def framed(record: tuple) -> tuple[int, int]:
    pos, _, _, size, prefix, suffix = record
    return pos, _convert.framed_size((size, prefix, suffix))


def plan(options: ConvertOptions, split: str, sizes: list, summary: Summary):
    """The split's shard plan, and each shard's first record (to find a record's shard)."""
    if len(sizes) != summary.sizes[split]:
        raise RuntimeError(f"{split}: {len(sizes)} records measured, "
                           f"{summary.sizes[split]} expected")
    shard_plan = _convert.plan_tfrecord_split(options, split, sizes)
    return shard_plan, [s.first for s in shard_plan.shards]


def by_shard(record: tuple, planned) -> tuple[int, tuple]:
    return bisect.bisect_right(planned[1], record[0]) - 1, record


def write_shard(root: str, options: ConvertOptions, split: str, item: tuple, planned
                ) -> tuple[str, int, int, int]:
    """Write one planned shard whole under a temporary name, then rename it into place: a
    retried task writes the same bytes to the same name."""
    k, records = item
    shard = planned[0].shards[k]
    records = sorted(records, key=lambda r: r[0])
    if [r[0] for r in records] != list(range(shard.first, shard.first + shard.count)):
        raise RuntimeError(f"{shard.name}: its records are not the planned "
                           f"{shard.first}..{shard.first + shard.count - 1}")
    with _reported(root):
        job = _job(root, options, {r[1]: r[2] for r in records})
        tmp = Path(root) / TMP
        tmp.mkdir(exist_ok=True)
        part = tmp / f"{shard.name}.{uuid.uuid4().hex[:8]}"
        try:
            _convert._range_task(job, (str(part), 0, [(r[1], *r[3:]) for r in records]))
            written = part.stat().st_size
            if written != shard.bytes:
                raise RuntimeError(f"{shard.name}: {written} bytes written, {shard.bytes} "
                                   "planned")
            folder = Path(root) / tfrecord_format.FOLDERS[split][0]
            folder.mkdir(exist_ok=True)
            os.replace(part, folder / shard.name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
    return split, k, shard.count, shard.bytes


def finish(root: str, options: ConvertOptions, _: None, summary: Summary, written: list,
           *plans) -> None:
    """Last: the shards checked against the plans, ``dataset_info.yaml`` written, the result
    handed to the launcher."""
    with _reported(root):
        result = summary.result
        if options.format in PER_IMAGE:
            _finish_per_image(root, options, summary, written)
        done = {(split, k): (n, b) for split, k, n, b in written}
        for split, (shard_plan, _) in zip(SPLITS, plans):
            for k, shard in enumerate(shard_plan.shards):
                if done.get((split, k)) != (shard.count, shard.bytes):
                    raise RuntimeError(f"{split} shard {shard.name} was not written as planned")
            files = [{"name": s.name, "records": s.count, "bytes": s.bytes}
                     for s in shard_plan.shards]
            folder = tfrecord_format.FOLDERS[split][0]
            (Path(root) / folder).mkdir(exist_ok=True)  # an empty split has its folder too
            result.splits[split] = info.SplitInfo(folder, summary.sizes[split], files)
            result.bytes += sum(f["bytes"] for f in files)
        for name in (UPRIGHT, TMP):
            shutil.rmtree(Path(root) / name, ignore_errors=True)
        _convert.write_info(options, Path(root), result)
        with open(Path(root) / RESULT, "wb") as f:
            pickle.dump((result, summary.skipped), f)


def _finish_per_image(root: str, options: ConvertOptions, summary: Summary, written: list
                      ) -> None:
    """A per-image split's one entry (its folder, its samples, the bytes of all its files)."""
    result = summary.result
    for split in SPLITS:
        count = sum(n for s, _, n, _ in written if s == split)
        if count != summary.sizes[split]:
            raise RuntimeError(f"{split}: {count} samples written, {summary.sizes[split]} "
                               "planned")
        folder = PER_IMAGE[options.format].FOLDERS[split]
        (Path(root) / folder).mkdir(exist_ok=True)
        nbytes = sum(b for s, _, _, b in written if s == split)
        files = [{"name": folder, "records": count, "bytes": nbytes}] if count else []
        result.splits[split] = info.SplitInfo(folder, count, files)
        result.bytes += nbytes


def build(p: beam.Pipeline, options: ConvertOptions, root: Path) -> None:
    """The pipeline's steps, into ``p``."""
    stage = str(root)
    spans = list(enumerate(plan_spans(options.annotations, reader.SPAN_BYTES)))
    spread = p | "manifest spans" >> beam.Create(spans) | "spread spans" >> beam.Reshuffle()
    census = (spread
              | "survey spans" >> beam.Map(partial(survey, stage, str(options.annotations)))
              | "census" >> beam.CombineGlobally(InOrder(stage, partial(merge, options.policy))))
    ctx = AsSingleton(census | "class table" >> beam.Map(partial(context, stage, options)))
    indexed = (spread
               | "read spans" >> beam.Map(partial(read_span, stage), ctx)
               | "gather spans" >> beam.CombineGlobally(InOrder(stage, list))
               | "index" >> beam.ParDo(Index(stage, options), ctx, AsSingleton(census))
               .with_outputs("summary", main="samples"))
    summary = AsSingleton(indexed.summary)
    sides = indexed.samples | "split" >> beam.Partition(side_of, len(SPLITS))
    plans, written = [], []
    for split, samples in zip(SPLITS, sides):
        if options.format in PER_IMAGE:
            written.append(
                samples
                | f"spread {split}" >> beam.Reshuffle()
                | f"batch {split}" >> beam.BatchElements(min_batch_size=8, max_batch_size=32)
                | f"write {split}" >> beam.Map(partial(write_files, stage, options, split),
                                               summary))
            continue
        measured = (samples
                    | f"spread {split}" >> beam.Reshuffle()  # off the index's one worker
                    | f"batch {split}" >> beam.BatchElements(min_batch_size=16,
                                                             max_batch_size=256)
                    | f"measure {split}" >> beam.FlatMap(partial(measure, stage, options)))
        planned = AsSingleton(
            measured
            | f"sizes {split}" >> beam.Map(framed)
            | f"gather sizes {split}" >> beam.CombineGlobally(InOrder(stage, list))
            | f"plan {split}" >> beam.Map(partial(plan, options, split), summary))
        plans.append(planned)
        written.append(
            measured
            | f"by shard {split}" >> beam.Map(by_shard, planned)
            | f"group {split}" >> beam.GroupByKey()
            | f"write {split}" >> beam.Map(partial(write_shard, stage, options, split), planned))
    counts = AsList(written | "shards written" >> beam.Flatten())
    _ = (p | "last" >> beam.Create([None])
         | "dataset_info.yaml" >> beam.Map(partial(finish, stage, options), summary, counts,
                                           *plans))


LOCAL_RUNNER = "FnApiRunner"  # Beam's DirectRunner first tries Prism, which downloads a binary


def pipeline_options(args: Sequence[str], workers: int):
    """Beam's options from ``args``: the local FnApiRunner with ``workers`` processes unless
    ``args`` name a runner or a worker count of their own."""
    given = PipelineOptions(list(args)).get_all_options(drop_default=True)
    extra = {}
    if given.get("runner") is None:
        extra["runner"] = LOCAL_RUNNER
        if workers > 1 and "direct_num_workers" not in given:
            extra.update(direct_num_workers=workers, direct_running_mode="multi_processing")
    opts = PipelineOptions(list(args), **extra)
    assert opts.view_as(StandardOptions).runner is not None
    return opts


def run(options: ConvertOptions, root: Path, args: list[str]) -> ConvertResult:
    """Run the pipeline into the stage ``root``; the error of a failed task is raised here as
    the converter raises it, and each skipped item is told to the policy's ``on_skip`` here."""
    on_skip = options.policy.on_skip
    options = replace(options, policy=replace(options.policy, on_skip=None))  # not to workers
    if not os.path.isdir(options.images):
        ImageIndex(Path(options.images))  # its own error before any work, as on one machine
    opts = pipeline_options(args, options.workers)
    local = PipelineOptions(args).view_as(StandardOptions).runner is None
    with _beam_log(local) as log:
        try:
            with beam.Pipeline(options=opts) as p:
                build(p, options, root)
        except Exception as exc:  # noqa: BLE001 - a runner's wrapper of a task's error
            own = _first_error(root)
            if own is not None:
                raise own from None
            where = f" (Beam's log: {log.keep()})" if log else ""
            raise OutputError(f"the Beam pipeline failed: {_last_line(exc)}{where}") from exc
    with open(root / RESULT, "rb") as f:
        result, skipped = pickle.load(f)
    for error in skipped if on_skip is not None else ():
        on_skip(error)
    for name in (RESULT, ERRORS, TMP, UPRIGHT):  # what retried tasks may have left
        _remove(root / name)
    return result


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class _Log:
    """A temporary file that takes the local runner's log; kept only when asked for."""

    def __init__(self) -> None:
        fd, self.name = tempfile.mkstemp(prefix="tfrecord-lite-beam-", suffix=".log")
        os.close(fd)
        self.kept = False

    def keep(self) -> str:
        self.kept = True
        return self.name


@contextlib.contextmanager
def _beam_log(local: bool) -> Iterator[_Log | None]:
    """With the local runner, send what Beam and its worker processes print (every harness's
    start-up, a failed task's traceback, which the launcher turns into one line) to a log file;
    a chosen runner's output (a Dataflow job's address...) stays on stderr."""
    if not local:
        yield None
        return
    log = _Log()
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(log.name, "wb") as f:
            os.dup2(f.fileno(), 2)  # the workers inherit this descriptor
        yield log
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        if not log.kept:
            with contextlib.suppress(OSError):
                os.unlink(log.name)


def _first_error(root: Path) -> BaseException | None:
    """The error a task kept, the earliest line's first (several tasks may fail at once)."""
    folder = root / ERRORS
    found = []
    for file in sorted(folder.glob("*.pickle")) if folder.is_dir() else []:
        try:
            with open(file, "rb") as f:
                found.append(pickle.load(f))
        except (OSError, pickle.UnpicklingError, EOFError):
            continue
    if not found:
        return None
    return min(found, key=lambda e: (getattr(e, "line", 0) or 0, str(e)))


def _last_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
