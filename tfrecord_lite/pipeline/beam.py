"""``--engine beam``: the conversion as an Apache Beam pipeline, on any Beam runner.

The pipeline (``beam_stages``) calls the converter's own stages, so its output is byte-identical
to the single-machine converter's; this module is its entry point and imports no Beam, so that
the CLI can say what to install when the optional ``[beam]`` extra is missing.  Imports go one
way: this module loads ``beam_stages`` when a run starts, never the other way round.  The stage and
publish rules are ``publish.Stage``'s, as on one machine.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from collections.abc import Iterator, Sequence

from tfrecord_lite.pipeline import convert as _convert
from tfrecord_lite.pipeline.convert import ConvertOptions, ConvertResult
from tfrecord_lite.pipeline.errors import OutputError

INSTALL = "pip install 'tfrecord-lite-tools[beam]'"
FORMATS = ("tfrecord", "json", "darknet")  # what this engine writes; COCO runs on one machine


def available() -> bool:
    """Whether Apache Beam can be imported (found without importing it)."""
    try:
        return importlib.util.find_spec("apache_beam") is not None
    except (ImportError, ValueError):  # a stub left in sys.modules
        return False


def refusal(fmt: str, input: str = "groundtruth") -> str | None:
    """Why ``--engine beam`` cannot write format ``fmt`` from ``input``, or None when it can:
    its pipeline reads Ground Truth manifests."""
    if input != "groundtruth":
        return f"--engine beam reads Ground Truth manifests only; convert --from {input} " \
            "without --engine beam"
    if fmt in FORMATS:
        return None
    return f"--engine beam writes -f {', '.join(FORMATS)} only; convert -f {fmt} without " \
        "--engine beam (on one machine, with --workers)"


def convert(options: ConvertOptions, pipeline_args: Sequence[str] = ()) -> ConvertResult:
    """Run the conversion as a Beam pipeline and publish it as ``convert.convert`` does.

    ``pipeline_args`` are Beam's own options (``--runner=DataflowRunner --project=...``);
    without ``--runner`` Beam's FnApiRunner runs it here, in ``options.workers`` processes."""
    why = refusal(options.format, options.input)
    if why:
        raise OutputError(why)
    if not available():
        raise OutputError(f"--engine beam needs Apache Beam: {INSTALL}")
    with _quiet_import():
        from tfrecord_lite.pipeline import beam_stages

    return _convert.run_staged(
        options, lambda root: beam_stages.run(options, root, list(pipeline_args)))


@contextlib.contextmanager
def _quiet_import() -> Iterator[None]:
    """Beam warns at import about Google Cloud clients it does not find; no concern here."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
