"""The ``convert`` command's ``s3://`` paths: its options, and one run's local stand-ins.

The S3 work itself is ``tfrecord_lite.pipeline.s3store``'s; this turns the command's arguments
into local paths for the ordinary conversion, and its messages back into S3 locations.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from tfrecord_lite.format.errors import TFRecordLiteError
from tfrecord_lite.pipeline.errors import InputError, OutputError

CONCURRENCY = 16  # s3store.CONCURRENCY; s3store itself is imported only when a path is s3://

_CACHE = re.compile(r"^tfrecord-lite-s3-(\d+)-[0-9a-f]{8}$")




def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``convert`` that only matter with ``s3://`` paths."""
    p.add_argument("--endpoint-url", metavar="URL",
                   help="S3-compatible endpoint for s3:// paths (default: $AWS_ENDPOINT_URL, "
                   "else AWS)")
    p.add_argument("--profile", metavar="NAME",
                   help="AWS profile for s3:// paths (default: $AWS_PROFILE, else boto3's chain)")
    p.add_argument("--s3-concurrency", type=_positive, default=CONCURRENCY, metavar="N",
                   help="objects fetched or uploaded at once with s3:// paths (default: "
                   "%(default)s)")


def is_s3(value: object) -> bool:
    return isinstance(value, str) and value[:5].lower() == "s3://"


def used(args: argparse.Namespace) -> bool:
    return any(is_s3(v) for v in (args.annotations, args.images, args.output))


def path_or_url(text: str) -> str | Path:
    """An argparse type: ``s3://`` URLs stay text (``Path`` would fold their ``//``)."""
    return text if is_s3(text) else Path(text)


class Remote:
    """One ``convert`` run with ``s3://`` paths: the local paths it works on, what it shows."""

    def __init__(self, args: argparse.Namespace, cache: Path, progress) -> None:
        from tfrecord_lite.pipeline.s3store import S3Url, Settings, Upload, client, fetch_inputs

        self.settings = Settings(args.profile, args.endpoint_url, args.s3_concurrency)
        self.s3 = client(self.settings)
        self.cache = cache
        self.upload: Upload | None = None
        self.source = str(args.annotations) if is_s3(args.annotations) else None
        inputs = []
        if is_s3(args.annotations):
            inputs.append(("the manifest's folder", S3Url.parse(args.annotations).folder))
        if is_s3(args.images):
            inputs.append(("the images prefix", S3Url.parse(args.images, folder=True)))
        output = args.output
        if is_s3(args.output):
            target = S3Url.parse(args.output, folder=True)
            self.upload = Upload(self.s3, target, args.overwrite, inputs, args.s3_concurrency,
                                 args.dry_run)
            name = target.key.rstrip("/").rpartition("/")[2] or target.bucket
            output = str(cache / "out" / name)
            (cache / "out").mkdir(parents=True)
        headers_only = args.dry_run and not args.full_decode
        found = fetch_inputs(self.s3, args.annotations, args.images, cache / "in",
                             concurrency=args.s3_concurrency, headers_only=headers_only,
                             progress=progress)
        if progress is not None:
            progress.close()  # the fetch's line stays; the conversion's phases follow
        self.inputs = found
        self.shown = list(found.shown)
        if self.upload is not None:
            self.shown.append((output, str(self.upload.target).rstrip("/")))
        fetched = is_s3(args.annotations) or is_s3(args.images)
        # local inputs keep -i as given: a COCO, YOLO or VOC layout finds its own images
        self.args = argparse.Namespace(**{**vars(args), "annotations": found.manifest,
                                          "images": found.images if fetched else args.images,
                                          "output": output})

    def show(self, text: str) -> str:
        """``text`` with the cache's local paths said as the S3 locations they stand for."""
        for local, remote in sorted(self.shown, key=lambda p: -len(p[0])):
            text = text.replace(local, remote)
        return text

    def error(self, exc: TFRecordLiteError) -> TFRecordLiteError:
        from tfrecord_lite.pipeline.s3store import S3Error

        if isinstance(exc, InputError):
            return InputError(self.show(exc.path), exc.line, self.show(exc.message),
                              value=exc.value, hint=self.show(exc.hint), reason=exc.reason)
        return type(exc)(self.show(str(exc))) if isinstance(exc, (OutputError, S3Error)) \
            else OutputError(self.show(str(exc)))

    def options(self, options):
        """What ``dataset_info.yaml`` names: the S3 manifest, the S3 prefix's split paths."""
        changes: dict = {}
        if self.source:
            changes["source"] = self.source
        if self.upload is not None and options.path_prefix is None:
            changes["path_prefix"] = str(self.upload.target).rstrip("/")
        return replace(options, **changes)

    def finish(self, result, progress) -> None:
        """Upload a dataset built for an S3 output; say S3 locations in the summary."""
        report = result.report
        report.examples = {k: self.show(v) for k, v in report.examples.items()}
        if self.upload is not None:
            self.upload.publish(Path(result.output), progress)
            result.output = str(self.upload.target).rstrip("/")

    def dry_run(self, found) -> None:
        r = found.read.report
        r.examples = {k: self.show(v) for k, v in r.examples.items()}
        if self.upload is not None:
            found.replaces = len(self.upload.old)


@contextlib.contextmanager
def remote(args: argparse.Namespace, progress=None) -> Iterator[Remote]:
    """Fetch the inputs, check the S3 output, hand back local paths; clean up at the end."""
    from tfrecord_lite.pipeline.publish import clean_leftovers  # PyYAML: not for --help

    where = tempfile.gettempdir()
    clean_leftovers(where, _CACHE)
    cache = Path(where) / f"tfrecord-lite-s3-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        cache.mkdir(mode=0o700)
    except OSError as exc:
        raise OutputError(f"cannot make the S3 cache in {where}: {exc.strerror}; set TMPDIR "
                          "to a folder with room for the images and the dataset") from None
    session: Remote | None = None
    try:
        try:
            session = Remote(args, cache, progress)
            yield session
        except TFRecordLiteError as exc:
            raise (session.error(exc) if session else exc) from None
        except BaseException as exc:
            if session is not None and session.upload is not None:
                after = getattr(exc, "after", None)
                if session.upload.published:
                    exc.after = f"the dataset was published in {session.upload.target}"
                elif after:
                    exc.after = "nothing was published"
            raise
        finally:
            if session is not None and session.upload is not None:
                session.upload.discard()
    finally:
        shutil.rmtree(cache, ignore_errors=True)
