"""``tfrecord-lite convert``: the seed's options, progress on stderr, a summary at the end."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tfrecord_lite.pipeline.errors import InputError
from tfrecord_lite.pipeline.progress import MIB, ProgressLine
from tfrecord_lite.tools import s3_cli

EPILOG = """examples:
  tfrecord-lite convert -a job/output.manifest -i job/images -o dataset --split 0.2
  tfrecord-lite convert --annotations=out.manifest --format=json --output=ds_json
  docker run -v DIR:/data_in -v OUT:/data_out IMAGE --annotations=/data_in/output-manifest \\
      --split 0.2 --partition=100

Exit codes: 0 done, 1 invalid input (nothing written), 2 usage error.
Defaults for --images and --output can also come from TFRECORD_LITE_IMAGES and
TFRECORD_LITE_OUTPUT (the container sets /data_in and /data_out)."""


def _checked(convert, ok, kind: str, rule: str):
    """An argparse type: ``convert`` the text, then require ``ok(value)``, saying why not."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{text} {rule}")
        return value

    return parse


_unit_fraction = _checked(
    float,
    lambda v: 0.0 <= v <= 1.0,
    "a number",
    "is outside [0, 1]: it is the fraction of images for validation",
)


def _fraction(text: str) -> float:
    """A fraction in [0, 1]; a percentage gets the fraction it meant in its error."""
    try:
        return _unit_fraction(text)
    except argparse.ArgumentTypeError as exc:
        try:
            percent = float(text)
        except ValueError:
            raise exc from None
        if 1 < percent <= 100:
            raise argparse.ArgumentTypeError(
                f"{text} is outside [0, 1]: the split is a fraction, so {percent:g}% is "
                f"-s {percent / 100:g}"
            ) from None
        raise


MAX_PARTITION_MB = 1 << 20  # 1 TiB: far beyond any file system's comfort, and still a number
_megabytes = _checked(
    float,
    lambda v: 0.0 < v <= MAX_PARTITION_MB,
    "a number of MB",
    f"must be a positive number of MB (MiB), at most {MAX_PARTITION_MB}",
)
_positive_int = _checked(int, lambda v: v >= 1, "a whole number", "must be at least 1")


def _workers(text: str):
    return "auto" if text == "auto" else _positive_int(text)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "convert",
        help="turn a SageMaker Ground Truth manifest and its images into a ModelPack dataset",
        description="Convert a SageMaker Ground Truth output manifest and its images into a\n"
        "ModelPack dataset: dataset_info.yaml plus tfrecord_train/ and tfrecord_val/\n"
        "(or json_train/ and json_val/ with --format json).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    env_images = os.environ.get("TFRECORD_LITE_IMAGES")
    env_output = os.environ.get("TFRECORD_LITE_OUTPUT")
    p.add_argument(
        "-a",
        "--annotations",
        required=True,
        type=s3_cli.path_or_url,
        metavar="MANIFEST",
        help="the Ground Truth output manifest (JSON Lines), a file or s3://BUCKET/KEY; or a "
        "COCO instances JSON (or a folder of train/val ones), a YOLO data.yaml (or its "
        "folder), a Pascal VOC folder (or its Annotations folder)",
    )
    p.add_argument(
        "--from",
        dest="input",
        choices=("groundtruth", "coco", "yolo", "voc"),
        default=None,
        help="what -a names (default: told from its layout and first bytes; a file that fits "
        "nothing is read as a Ground Truth manifest)",
    )
    p.add_argument(
        "-i",
        "--images",
        type=s3_cli.path_or_url,
        default=env_images,
        metavar="DIR",
        help="folder or s3:// prefix holding the images (default: %s; for an s3:// manifest, "
        "each image where its source-ref points)" % (env_images or "the manifest's folder"),
    )
    p.add_argument(
        "-o",
        "--output",
        default=env_output,
        metavar="DIR",
        help="output folder or s3:// prefix, created whole at the end (default: %s)"
        % (env_output or "required"),
    )
    p.add_argument(
        "-f",
        "--format",
        choices=("tfrecord", "json", "darknet", "coco", "edgefirst", "tfod"),
        default="tfrecord",
        help="tfrecord (ModelPack detection), json (ModelPack segmentation and detection), "
        "darknet (ModelPack, deepview-datasets, YOLO tools), coco (annotations/instances_"
        "{train,val}.json, for COCO tools), edgefirst (EdgeFirst Studio's Arrow dataset; "
        "needs the [edgefirst] extra) or tfod (TF Object Detection API / Model Garden records "
        "and label_map.pbtxt) (default: %(default)s)",
    )
    p.add_argument(
        "-s",
        "--split",
        type=_fraction,
        default=None,
        metavar="FRACTION",
        help="fraction of images for validation, in [0, 1] (default: 0.2; a COCO, YOLO or VOC "
        "dataset's own train/val split is kept unless -s is given)",
    )
    p.add_argument(
        "-p",
        "--partition",
        type=_megabytes,
        default=100.0,
        metavar="MB",
        help="maximum size of each TFRecord file in MB (MiB) (default: %(default)g)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the stable split and of the record order (default: %(default)s)",
    )
    p.add_argument(
        "--label-attribute",
        metavar="NAME",
        help="label attribute to use when a line has several (default: the one with "
        "the newest creation-date)",
    )
    p.add_argument(
        "--classes",
        type=Path,
        metavar="FILE",
        dest="classes_file",
        help="file with one class name per line: fixes the class list and order",
    )
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="skip and count bad lines and images instead of failing (default: fail)",
    )
    p.add_argument(
        "--drop-rejected",
        action="store_true",
        help="drop images whose label-verification job marked the label as wrong",
    )
    p.add_argument(
        "--workers",
        type=_workers,
        default="auto",
        metavar="N",
        help="processes reading and encoding images; the output is the same for any N "
        "(default: auto = one per CPU, at most 8, for manifests over 256 KiB; else 1)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the dataset tfrecord-lite wrote in the output folder (only its own files; "
        "any other non-empty folder is refused)",
    )
    p.add_argument(
        "--path-prefix",
        metavar="P",
        help="write split paths in dataset_info.yaml as P/tfrecord_train ... instead "
        "of the absolute output folder",
    )
    p.add_argument(
        "--exif-frame",
        choices=("auto", "upright", "raw"),
        default="auto",
        help="which frame the labels of EXIF-rotated JPEGs were drawn on: auto decides by "
        "image_size, else by the job's date (raw before 2020-04-07, when browsers began to "
        "apply EXIF) (default: %(default)s)",
    )
    p.add_argument(
        "--keep-image-bytes",
        action="store_true",
        help="store every image as it came, even those ModelPack cannot decode to 3 channels "
        "(default: convert those once to RGB JPEG/PNG)",
    )
    p.add_argument(
        "--masks",
        action="store_true",
        help="-f tfod: a PNG mask per object (image/object/mask, for Mask R-CNN): its "
        "segmentation region, or the box (default: none)",
    )
    p.add_argument(
        "--max-pixels",
        type=_positive_int,
        default=None,
        metavar="N",
        help="refuse images of more pixels than this, as decompression bombs "
        "(default: Pillow's limit, 89478485)",
    )
    p.add_argument(
        "--full-decode",
        action="store_true",
        help="decode every image while checking it (finds damage inside the data; the default "
        "check reads only the end of each file, which finds files cut short)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="read the manifest, find every image and read its header, check the output; "
        "report every problem a conversion would skip or stop at; write nothing",
    )
    p.add_argument(
        "--engine",
        choices=("local", "beam"),
        default="local",
        help="local: this machine, in --workers processes; beam: an Apache Beam pipeline "
        "(-f tfrecord, json, darknet; the [beam] extra), on the local FnApiRunner or the "
        "runner that Beam's options after -- choose; the same bytes either way; --dry-run "
        "always runs here (default: %(default)s)",
    )
    p.add_argument(
        "pipeline_args",
        nargs="*",
        metavar="-- BEAM_OPTIONS",
        help="with --engine beam: Beam's pipeline options, after a lone -- "
        "(--runner=DataflowRunner --project=... / FlinkRunner / SparkRunner ...)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON, for scripts")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary")
    s3_cli.add_arguments(p)
    return p


#: the flags that are ``conversion_options``'s keyword arguments of the same name
_SAME_NAMES = ("images", "format", "split", "seed", "workers", "overwrite", "skip_invalid",
               "label_attribute", "classes_file", "drop_rejected", "path_prefix",
               "keep_image_bytes", "max_pixels", "full_decode", "exif_frame", "masks", "input")


class Warnings(list):
    """A run's warnings in order: each printed on stderr as it comes (so the error, if any,
    comes last), and kept for ``--json``, which gives them a field beside the error's."""

    def __call__(self, text: str) -> None:
        self.append(text)
        sys.stderr.write(f"tfrecord-lite convert: warning: {text}\n")


def error_fields(exc: Exception) -> dict:
    """An error as ``--json`` gives it: the line the CLI prints, and where and why."""
    fields: dict = {"message": str(exc), "kind": type(exc).__name__}
    if isinstance(exc, InputError):
        value = exc.value if exc.value is None or isinstance(exc.value, (str, int, float)) \
            else repr(exc.value)[:200]
        fields.update(file=exc.path, line=exc.line, value=value, hint=exc.hint,
                      reason=exc.reason)
    return fields


def run(args: argparse.Namespace) -> int:
    from tfrecord_lite.format.errors import TFRecordLiteError
    from tfrecord_lite.tools.cli import UsageError

    warn = Warnings()
    try:
        return _start(args, warn)
    except (UsageError, TFRecordLiteError) as exc:
        if args.json:  # the CLI still ends stderr with the one error line
            print(json.dumps({"error": error_fields(exc), "warnings": list(warn)}), flush=True)
        raise


def _start(args: argparse.Namespace, warn: Warnings) -> int:
    from tfrecord_lite.tools.cli import UsageError

    if args.output is None:
        raise UsageError("-o/--output is required (or set TFRECORD_LITE_OUTPUT)")
    _check_engine(args, UsageError)
    from tfrecord_lite.pipeline.convert import refusal

    why = refusal(args.output, args.format, args.masks)
    if why:
        raise UsageError(why)
    if args.input not in (None, "groundtruth") and any(
            s3_cli.is_s3(v) for v in (args.annotations, args.images)):
        raise UsageError(f"--from {args.input} reads local folders; s3:// inputs go with Ground "
                         "Truth manifests (copy the dataset here first; an s3:// -o is fine)")
    if s3_cli.used(args):  # fetched into a local cache, built locally, uploaded at the end
        from tfrecord_lite.pipeline import s3store

        if not s3store.available():
            raise UsageError(f"s3:// paths need boto3: {s3store.INSTALL}")
        bar = _progress(args)
        with s3_cli.remote(args, bar) as remote:
            return _run(remote.args, remote, bar, warn)
    return _run(args, None, _progress(args), warn)


def _progress(args: argparse.Namespace) -> ProgressLine:
    mode = "off" if args.quiet or args.json else "tty" if sys.stderr.isatty() else "plain"
    return ProgressLine(mode)


def _run(args: argparse.Namespace, remote: s3_cli.Remote | None, bar: ProgressLine,
         warn: Warnings) -> int:
    from tfrecord_lite.pipeline.api import conversion_options
    from tfrecord_lite.pipeline.convert import convert, keep_warning, split_warning

    def show(text: str) -> str:
        return text if remote is None else remote.show(text)

    options = conversion_options(
        args.annotations,
        args.output,
        partition_mb=args.partition,
        on_skip=lambda error: warn(show(f"skipped: {error}")),
        **{name: getattr(args, name) for name in _SAME_NAMES},
    )
    if remote is not None:
        options = remote.options(options)
    empty = split_warning(options.split, options.format) if args.split is not None else None
    if empty:
        warn(empty)
    if args.dry_run:
        return _dry_run(options, args, remote, warn)
    try:
        if args.engine == "beam":
            from tfrecord_lite.pipeline import beam

            result = beam.convert(options, args.pipeline_args)
        else:
            result = convert(options, progress=bar)
        if remote is not None:
            remote.finish(result, bar)
    except InputError as exc:
        raise _with_dry_run_hint(exc) from None
    finally:
        bar.close()
    for notice in result.report.notices:
        warn(show(notice))
    if result.report.kept_undecodable:
        warn(keep_warning(result.report.kept_undecodable))
    try:
        if not args.quiet:
            text = json.dumps(result.to_dict()) if args.json else summary(result)
            _print_summary(text, result.output)
    except BaseException as exc:  # an interrupt now comes after the dataset is complete
        exc.after = f"the dataset was published in {result.output}"
        raise
    return 0


def _check_engine(args: argparse.Namespace, usage: type[Exception]) -> None:
    """Beam's options only with ``--engine beam``, which needs the extra and writes TFRecords."""
    if args.engine != "beam":
        if args.pipeline_args:
            raise usage(f"unrecognized arguments: {' '.join(args.pipeline_args)} (Beam's "
                        "pipeline options, after --, go with --engine beam)")
        return
    from tfrecord_lite.pipeline import beam

    if args.pipeline_args and not args.pipeline_args[0].startswith("-"):
        raise usage(f"unrecognized arguments: {' '.join(args.pipeline_args)} (Beam's pipeline "
                    "options come after a lone --, e.g. -- --runner=DataflowRunner)")
    why = beam.refusal(args.format, args.input or "groundtruth")  # told later: beam.convert
    if why:
        raise usage(why)
    if not beam.available():
        raise usage(f"--engine beam needs Apache Beam: {beam.INSTALL}")


def _with_dry_run_hint(exc: InputError) -> InputError:
    """A run stops at the first bad line; say how to see them all."""
    if not exc.line:
        return exc
    hint = "; ".join(h for h in (exc.hint, "--dry-run lists every problem in the manifest") if h)
    return InputError(exc.path, exc.line, exc.message, value=exc.value, hint=hint,
                      reason=exc.reason)


def _dry_run(options, args: argparse.Namespace, remote: s3_cli.Remote | None,
             warn: Warnings) -> int:
    from tfrecord_lite.pipeline.convert import check

    found = check(options)
    if remote is not None:
        remote.dry_run(found)
    r = found.read.report
    stops = found.would_fail and not options.policy.skip
    would = "stop at the first" if stops else "skip"
    data = {
        "lines": r.lines,
        "samples": len(found.read.samples),
        "train": found.train,
        "validation": found.validation,
        "classes": found.read.classes,
        "label_attribute": r.label_attribute,
        "task": r.task,
        "skipped": dict(sorted(r.skipped.items())),
        "invalid": r.invalid,
        "would_fail": stops,
        "replaces_files": found.replaces,
        "warnings": list(warn),
    }
    if args.json:
        print(json.dumps(data))
    elif not args.quiet:
        lines = [
            f"dry run: {r.lines} {'lines' if options.input == 'groundtruth' else 'entries'}, "
            f"{len(found.read.samples)} images would be converted "
            f"(train {found.train}, validation {found.validation}); nothing was written",
            f"  label attribute: {r.label_attribute} ({r.task}); "
            f"{len(found.read.classes)} classes",
        ]
        if found.replaces:
            lines.append(f"  --overwrite would replace a dataset of {found.replaces} files")
        if r.skipped:
            lines.append(f"  problems: {sum(r.skipped.values())} ({r.invalid} invalid, which a "
                         f"conversion would {would}; the rest are always left out)")
            for reason, n in sorted(r.skipped.items()):
                lines.append(f"    {reason}: {n}  (first: {r.examples.get(reason, '')})")
        else:
            lines.append("  no problems found")
        _print_summary("\n".join(lines), None)
    return 1 if stops else 0


def _print_summary(text: str, output: Path | None) -> None:
    """Print the summary; the dataset is published by now, so a stdout that cannot take it
    (a full disk, a closed pipe) is worth a warning, not a failed run."""
    try:
        out = sys.stdout.buffer
        out.write(text.encode(sys.stdout.encoding or "utf-8", "backslashreplace") + b"\n")
        out.flush()
    except (OSError, AttributeError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or exc
        done = f"the dataset was published in {output}, but " if output else ""
        sys.stderr.write(
            f"tfrecord-lite convert: warning: {done}the summary could not be printed ({why})\n"
        )


def summary(result) -> str:
    """The end-of-run report: what went where, what was skipped or fixed, how long it took."""
    r = result.report
    lines = [f"wrote {result.output} ({result.bytes / MIB:.2f} MiB in {result.seconds:.2f} s)"]
    lines.append(f"  label attribute: {r.label_attribute} ({r.task})")
    for split in ("train", "validation"):
        s = result.splits[split]
        shards = f"{len(s.files)} file(s) " if s.folder.startswith("tfrecord") else ""
        lines.append(f"  {split:<10} {s.samples:>7} images  {shards}in {s.folder}/")
    if result.source_split:
        lines.append("  split: the source's own train/val, kept (-s splits anew by hash)")
    if result.moved_to_fill:
        lines.append(f"  moved {result.moved_to_fill} image(s) so that neither split is empty "
                     "(ModelPack refuses an empty split; chosen by the split hash)")
    lines.extend(f"  warning: {w}" for w in result.warnings)
    lines.append(f"  classes ({len(result.classes)}):")
    for name in result.classes:
        lines.append(f"    {name:<24} {result.objects.get(name, 0):>7} objects")
    if r.sequences:
        lines.append(f"  video: {r.sequences} sequences, {r.frames} frames (each sequence in "
                     "one split)")
    lines.append(f"  images without objects: {result.negatives}")
    if r.class_clashes:
        lines.append(f"  class ids differ between lines, classes kept by name: {r.class_clashes}")
    unused = [n for n in result.classes if not result.objects.get(n)]
    if unused and r.task == "object-detection":
        lines.append(f"  classes kept without objects (only on skipped lines, or unused): "
                     f"{', '.join(unused)}")
    for what, n in result.fixes.items():
        if n:
            lines.append(f"  {what}: {n}")
    if r.converted:
        lines.append(f"  images converted to RGB for tf.io.decode_jpeg: {sum(r.converted.values())}"
                     " (lossless sources to PNG, JPEG to JPEG quality 95, alpha on white)")
        for why, n in sorted(r.converted.items()):
            lines.append(f"    {why}: {n}")
    if r.skipped:
        lines.append(f"  skipped lines/images: {sum(r.skipped.values())}")
        for reason, n in sorted(r.skipped.items()):
            example = r.examples.get(reason, "")
            lines.append(f"    {reason}: {n}" + (f"  (first: {example})" if example else ""))
    return "\n".join(lines)
