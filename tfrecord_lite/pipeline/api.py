"""The converter as a Python call, with the CLI's defaults: ``tfrecord_lite.convert(...)``.

The CLI (``tfrecord-lite convert``) is a thin layer over ``conversion_options``: it parses flags
into these keyword arguments and prints what ``convert`` returns.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from tfrecord_lite.pipeline.convert import FORMATS, ConvertOptions, ConvertResult, refusal
from tfrecord_lite.pipeline.convert import convert as _run
from tfrecord_lite.pipeline.errors import ErrorPolicy, InputError
from tfrecord_lite.pipeline.groundtruth.images import PILLOW_MAX_PIXELS, ImageChecks
from tfrecord_lite.pipeline.progress import Progress
from tfrecord_lite.pipeline.sources import GROUNDTRUTH, INPUTS, default_images, detect

EXIF_FRAMES = ("auto", "upright", "raw")
ENGINES = ("local", "beam")
_WHAT = {"coco": "COCO instances JSON (or a folder of train/val ones)",
         "yolo": "YOLO data.yaml (or its dataset folder)",
         "voc": "Pascal VOC folder (or its Annotations folder)"}


def auto_workers(manifest: Path) -> int:
    """Processes worth starting: forking pays off only once there are some thousand lines."""
    if manifest.is_dir() or manifest.stat().st_size < 256 * 1024:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))  # what this process may use (containers, taskset)
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def conversion_options(
    annotations: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    images: str | os.PathLike[str] | None = None,
    format: str = "tfrecord",
    split: float | None = None,
    partition_mb: float = 100.0,
    seed: int = 0,
    workers: int | str = "auto",
    overwrite: bool = False,
    skip_invalid: bool = False,
    on_skip: Callable[[InputError], None] | None = None,
    label_attribute: str | None = None,
    classes_file: str | os.PathLike[str] | None = None,
    drop_rejected: bool = False,
    path_prefix: str | None = None,
    keep_image_bytes: bool = False,
    max_pixels: int | None = None,
    full_decode: bool = False,
    exif_frame: str = "auto",
    masks: bool = False,
    input: str | None = None,
) -> ConvertOptions:
    """Checked options for ``convert``; raises ``ValueError`` naming a bad argument and
    ``InputError`` when the annotations are not there or their kind cannot be told.

    ``input`` is groundtruth, coco, yolo or voc (None: told from ``annotations``); ``split``
    None keeps a source's own train/val split, and is 0.2 (hashed) when it has none."""
    annotations = Path(annotations)
    if input is not None and input not in INPUTS:
        raise ValueError(f"input must be one of {', '.join(INPUTS)}, not {input!r}")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    if split is not None and not 0.0 <= split <= 1.0:
        raise ValueError(f"split {split} is outside [0, 1]: it is the fraction of images for "
                         "validation")
    if not (math.isfinite(partition_mb) and partition_mb > 0):
        raise ValueError(f"partition_mb must be a positive number of MiB, not {partition_mb}")
    if exif_frame not in EXIF_FRAMES:
        raise ValueError(f"exif_frame must be one of {', '.join(EXIF_FRAMES)}, not "
                         f"{exif_frame!r}")
    if workers != "auto" and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be 'auto' or a positive number, not {workers!r}")
    why = refusal(output, format, masks)
    if why:
        raise ValueError(why)
    if input is None:
        input = detect(annotations) if annotations.exists() else GROUNDTRUTH
    if input == GROUNDTRUTH and not annotations.is_file():
        raise InputError(str(annotations), 0, "the manifest does not exist or is not a file",
                         hint="pass the Ground Truth output manifest with -a/--annotations")
    if not annotations.exists():
        raise InputError(str(annotations), 0, f"the {input} annotations do not exist",
                         hint=f"pass the {_WHAT[input]} with -a/--annotations",
                         reason="no-annotations")
    return ConvertOptions(
        annotations=annotations,
        images=Path(images) if images is not None else default_images(input, annotations),
        output=Path(output),
        format=format,
        split=0.2 if split is None else split,
        input=input,
        keep_source_split=split is None,
        partition_mb=partition_mb,
        seed=seed,
        label_attribute=label_attribute,
        classes_file=Path(classes_file) if classes_file is not None else None,
        policy=ErrorPolicy(skip=skip_invalid, on_skip=on_skip),
        drop_rejected=drop_rejected,
        workers=auto_workers(annotations) if workers == "auto" else int(workers),
        overwrite=overwrite,
        path_prefix=path_prefix,
        keep_image_bytes=keep_image_bytes,
        image_checks=ImageChecks(max_pixels or PILLOW_MAX_PIXELS, full_decode),
        exif_frame=exif_frame,
        masks=masks,
    )


def convert(
    annotations: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
    engine: str = "local",
    pipeline_args: Sequence[str] = (),
    **options,
) -> ConvertResult:
    """Convert a Ground Truth manifest and its images into a dataset in ``output``.

    The keyword arguments are ``conversion_options``'s, with the CLI's defaults: ``images`` the
    manifest's folder, ``format="tfrecord"``, ``split=None`` (a COCO, YOLO or VOC dataset's own
    split, else 0.2), ``partition_mb=100``,
    ``workers="auto"``.  ``progress(phase, done, total)`` is called as the work goes on.
    Returns the summary (``result.to_dict()`` is what ``tfrecord-lite convert --json`` prints);
    raises ``InputError`` for bad input and ``OutputError`` when the output cannot be written,
    leaving nothing that looks like a dataset.

    ``engine="beam"`` runs it as an Apache Beam pipeline (the ``[beam]`` extra; not COCO)
    with Beam's ``pipeline_args`` (none: the local FnApiRunner): the same bytes.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if pipeline_args and engine != "beam":
        raise ValueError("pipeline_args are Beam's options: they go with engine='beam'")
    chosen = conversion_options(annotations, output, **options)
    if engine == "beam":
        from tfrecord_lite.pipeline import beam

        if chosen.input != GROUNDTRUTH:  # a bad argument, as the CLI's usage error
            raise ValueError(beam.refusal(chosen.format, chosen.input))
        return beam.convert(chosen, pipeline_args)
    return _run(chosen, progress)
