"""``tfrecord-lite convert``: the seed's options, progress on stderr, a summary at the end."""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

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


_fraction = _checked(
    float,
    lambda v: 0.0 <= v <= 1.0,
    "a number",
    "is outside [0, 1]: it is the fraction of images for validation",
)
_megabytes = _checked(
    float, lambda v: 0.0 < v < float("inf"), "a number of MB", "must be a positive number of MB"
)
_positive_int = _checked(int, lambda v: v >= 1, "a whole number", "must be at least 1")


def _workers(text: str):
    return "auto" if text == "auto" else _positive_int(text)


def auto_workers(manifest: Path) -> int:
    """Processes worth starting: forking pays off only once there are some thousand lines."""
    if manifest.stat().st_size < 256 * 1024:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))  # what this process may use (containers, taskset)
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


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
        type=Path,
        metavar="MANIFEST",
        help="the Ground Truth output manifest (JSON Lines)",
    )
    p.add_argument(
        "-i",
        "--images",
        type=Path,
        default=env_images,
        metavar="DIR",
        help="folder holding the images (default: %s)" % (env_images or "the manifest's folder"),
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=env_output,
        metavar="DIR",
        help="output folder, created whole at the end (default: %s)" % (env_output or "required"),
    )
    p.add_argument(
        "-f",
        "--format",
        choices=("tfrecord", "json", "darknet"),
        default="tfrecord",
        help="tfrecord (ModelPack detection), json (ModelPack segmentation and detection) or "
        "darknet (ModelPack, deepview-datasets, YOLO tools) (default: %(default)s)",
    )
    p.add_argument(
        "-s",
        "--split",
        type=_fraction,
        default=0.2,
        metavar="FRACTION",
        help="fraction of images for validation, in [0, 1] (default: %(default)s)",
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
        "--overwrite", action="store_true", help="replace the contents of a non-empty output folder"
    )
    p.add_argument(
        "--path-prefix",
        metavar="P",
        help="write split paths in dataset_info.yaml as P/tfrecord_train ... instead "
        "of the absolute output folder",
    )
    p.add_argument(
        "--keep-image-bytes",
        action="store_true",
        help="store every image as it came, even those ModelPack cannot decode to 3 channels "
        "(default: convert those once to RGB JPEG/PNG)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress and no summary")
    return p


class _Bar:
    """A one-line progress display on a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, split: str, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and done < total):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        width = 30
        fill = int(width * done / total) if total else width
        sys.stderr.write(
            f"\r{split:<10} [{'#' * fill}{'.' * (width - fill)}] {done}/{total} {rate:,.0f} img/s "
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Skipped items are reported as one plain line each, not as Python warnings."""
    sys.stderr.write(f"tfrecord-lite convert: warning: skipped: {message}\n")


def run(args: argparse.Namespace) -> int:
    from .cli import UsageError
    from .convert import ConvertOptions, convert, keep_warning, split_warning

    if args.output is None:
        raise UsageError("-o/--output is required (or set TFRECORD_LITE_OUTPUT)")
    if not args.annotations.is_file():
        from .errors import InputError

        raise InputError(
            str(args.annotations),
            0,
            "the manifest does not exist or is not a file",
            hint="pass the Ground Truth output manifest with -a/--annotations",
        )
    images = args.images if args.images is not None else args.annotations.parent
    options = ConvertOptions(
        annotations=args.annotations,
        images=images,
        output=args.output,
        format=args.format,
        split=args.split,
        partition_mb=args.partition,
        seed=args.seed,
        label_attribute=args.label_attribute,
        classes_file=args.classes_file,
        policy="warn" if args.skip_invalid else "raise",
        drop_rejected=args.drop_rejected,
        workers=auto_workers(args.annotations) if args.workers == "auto" else args.workers,
        overwrite=args.overwrite,
        path_prefix=args.path_prefix,
        keep_image_bytes=args.keep_image_bytes,
    )
    if split_warning(args.split):
        sys.stderr.write(f"tfrecord-lite convert: warning: {split_warning(args.split)}\n")
    bar = _Bar(not args.quiet and sys.stderr.isatty())
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        result = convert(options, progress=bar)
    if result.report.kept_undecodable:
        kept = keep_warning(result.report.kept_undecodable)
        sys.stderr.write(f"tfrecord-lite convert: warning: {kept}\n")
    if not args.quiet:
        print(summary(result))
    return 0


def summary(result) -> str:
    """The end-of-run report: what went where, what was skipped or fixed, how long it took."""
    r = result.report
    lines = [f"wrote {result.output} ({result.bytes / 1e6:.2f} MB in {result.seconds:.2f} s)"]
    lines.append(f"  label attribute: {r.label_attribute} ({r.task})")
    for split in ("train", "validation"):
        s = result.splits[split]
        lines.append(f"  {split:<10} {s.samples:>7} images  {len(s.files)} file(s) in {s.folder}/")
    if result.moved_to_fill:
        lines.append(f"  moved {result.moved_to_fill} image(s) so that neither split is empty "
                     "(ModelPack refuses an empty split; chosen by the split hash)")
    lines.extend(f"  warning: {w}" for w in result.warnings)
    lines.append(f"  classes ({len(result.classes)}):")
    for name in result.classes:
        lines.append(f"    {name:<24} {result.objects.get(name, 0):>7} objects")
    lines.append(f"  images without objects: {result.negatives}")
    fixes = {
        "boxes clipped to the image": r.clipped_boxes,
        "zero-area boxes dropped": r.dropped_boxes,
        "image_size differing from the image": r.size_mismatches,
        "JPEGs re-encoded upright (EXIF)": r.exif_reencoded,
    }
    for what, n in fixes.items():
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
