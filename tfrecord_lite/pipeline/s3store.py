"""``s3://`` for the converter's ``-a``, ``-i`` and ``-o``, through boto3, on one machine.

Why this shape: the reader and the writers already keep every promise on local files, so S3 is
an input stage and an output stage around them.  Inputs are fetched into a temporary cache laid
out like a local copy (``aws s3 sync``), which the reader reads as local paths: the shards are
the bytes a local conversion makes, by construction.  The dataset is built in a local stage as
always and uploaded under the final prefix with ``dataset_info.yaml`` last, the commit marker.
A journal object (``.tfrecord-lite-upload``), written before anything else, lists every key the
run may write or remove: a run that fails removes them, and a run that was killed is cleaned up
by the next one from its journal.  Nothing that no inventory or journal of ours lists is ever
deleted.

boto3 is imported only when an ``s3://`` path is used (the optional ``[s3]`` extra); one client
per process, shared by a bounded pool of threads.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from tfrecord_lite.format.errors import TFRecordLiteError
from tfrecord_lite.pipeline.dataset_info import FILENAME as INFO
from tfrecord_lite.pipeline.errors import InputError, OutputError
from tfrecord_lite.pipeline.progress import UNITS
from tfrecord_lite.pipeline.publish import INVENTORY, process_alive

INSTALL = "pip install 'tfrecord-lite-tools[s3]'"
JOURNAL = ".tfrecord-lite-upload"  # the keys an upload in progress may write or remove
FETCH = "fetching from S3"
UPLOAD = "uploading to S3"
UNITS[UPLOAD] = "bytes"
CONCURRENCY = 16  # objects in flight at once (--s3-concurrency)
MULTIPART = 16 << 20  # files from this size on are uploaded in parts of this size
HEAD_BYTES = 256 << 10  # what a header-only fetch (--dry-run) reads of an image's start ...
TAIL_BYTES = 1 << 10  # ... and of its end (the JPEG/PNG end-marker check)
RETRIES = 5  # botocore's retries of each request
ATTEMPTS = 5  # our own tries of a body read; botocore retries each request on top
_DENIED = {"AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch",
           "ExpiredToken", "InvalidToken", "AccountProblem", "403", "Forbidden"}
_MISSING = {"NoSuchKey", "404", "NotFound"}
_CREDENTIALS_HINT = ("check the credentials (AWS_PROFILE or --profile, AWS_ACCESS_KEY_ID/"
                     "AWS_SECRET_ACCESS_KEY) and the bucket's policy")


class S3Error(TFRecordLiteError):
    """An S3 request failed for good (access denied, no such bucket, unreachable): one line
    naming the object."""


class MissingBoto3(S3Error):
    """An s3:// path without the optional ``[s3]`` extra installed."""


def available() -> bool:
    """boto3 (the ``[s3]`` extra) can be imported."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        return False
    return True


def is_s3(value: object) -> bool:
    return isinstance(value, str) and value[:5].lower() == "s3://"


@dataclass(frozen=True)
class S3Url:
    """``s3://bucket/key``; a folder's key is ``""`` or ends with ``/``."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, text: str, folder: bool = False) -> S3Url:
        rest = text[5:]
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise InputError(text, 0, "S3 URL names no bucket",
                             hint="write s3://BUCKET/KEY", reason="bad-s3-url")
        if folder and key and not key.endswith("/"):
            key += "/"
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def child(self, rel: str) -> S3Url:
        return S3Url(self.bucket, self.key + rel)

    @property
    def folder(self) -> S3Url:
        return S3Url(self.bucket, self.key.rpartition("/")[0] + "/" if "/" in self.key else "")

    def holds(self, other: S3Url) -> bool:
        return self.bucket == other.bucket and other.key.startswith(self.key)


# --- the client -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How to reach S3: boto3's own chain (profiles, ``AWS_*`` variables) unless given here."""

    profile: str | None = None
    endpoint_url: str | None = None
    concurrency: int = CONCURRENCY


_CLIENTS: dict[Settings, object] = {}
_LOCK = threading.Lock()


def client(settings: Settings):
    """The process's one S3 client for these settings (thread-safe, reused)."""
    with _LOCK:
        found = _CLIENTS.get(settings)
        if found is None:
            found = _CLIENTS[settings] = _make_client(settings)
        return found


def _make_client(settings: Settings):
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError
    except ImportError:
        raise MissingBoto3(f"s3:// paths need boto3: {INSTALL}") from None
    endpoint = settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or \
        os.environ.get("AWS_ENDPOINT_URL") or None
    config = Config(
        # throttling, 5xx and connection errors, with jittered exponential backoff
        retries={"max_attempts": RETRIES + 1, "mode": "standard"},
        max_pool_connections=max(10, settings.concurrency + 4),
        connect_timeout=5,
        read_timeout=60,
        s3={"addressing_style": "path"} if endpoint else {},  # S3-compatible stores want paths
    )
    try:
        session = boto3.session.Session(profile_name=settings.profile)
        return session.client("s3", endpoint_url=endpoint, config=config,
                              region_name=session.region_name or "us-east-1")
    except (BotoCoreError, ValueError) as exc:
        raise S3Error(f"cannot set up the S3 client: {exc}; {_CREDENTIALS_HINT}") from None


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {})
    return str(error.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def failure(exc: BaseException, url: object, doing: str) -> S3Error:
    """One line for a failed request on ``url``: what, why, and what to do."""
    code = _code(exc)
    name = type(exc).__name__
    if code in _DENIED:
        return S3Error(f"{url}: access denied while {doing} ({code}); {_CREDENTIALS_HINT}")
    if code == "NoSuchBucket":
        return S3Error(f"{url}: the bucket does not exist (NoSuchBucket); check the URL and "
                       "--endpoint-url")
    if code in _MISSING:
        return S3Error(f"{url}: no such object ({code}) while {doing}; check the key")
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return S3Error(f"{url}: no AWS credentials found while {doing}; {_CREDENTIALS_HINT}")
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
        return S3Error(f"{url}: cannot reach S3 while {doing} ({exc}); check the network and "
                       "--endpoint-url / AWS_ENDPOINT_URL")
    text = " ".join(str(exc).split())
    return S3Error(f"{url}: S3 request failed while {doing}: {text}")


def _is_missing(exc: BaseException) -> bool:
    return _code(exc) in _MISSING


def _transient() -> tuple[type[BaseException], ...]:
    """Errors while a body streams in, which botocore's request retries do not cover."""
    from botocore import exceptions as e

    found = [e.ReadTimeoutError, e.IncompleteReadError]
    found += [getattr(e, n) for n in ("ResponseStreamingError",) if hasattr(e, n)]
    with contextlib.suppress(ImportError):
        from urllib3.exceptions import ProtocolError

        found.append(ProtocolError)
    return tuple(found)


def _retrying(call: Callable[[], object], transient: tuple[type[BaseException], ...],
              attempts: int = ATTEMPTS, pause: float = 0.2):
    """``call()``, again after a growing pause when the connection broke mid-transfer."""
    for attempt in range(attempts):
        try:
            return call()
        except transient:
            if attempt == attempts - 1:
                raise
            time.sleep(pause * 2 ** attempt)
    raise AssertionError("unreachable")


def _bounded(fn: Callable, items: Iterable, workers: int) -> Iterator[tuple[object, object]]:
    """``(item, fn(item))`` as they finish, with at most ``workers`` threads and ``4*workers``
    items in flight; the first error (or Ctrl-C) cancels what has not started."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tfrecord-lite-s3")
    pending: dict[Future, object] = {}
    items = iter(items)
    try:
        while True:
            for item in items:
                pending[pool.submit(fn, item)] = item
                if len(pending) >= 4 * workers:
                    break
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)


def _inputs_only(listing: dict[str, int]) -> dict[str, int]:
    """A listing without the datasets of ours in it (their inventory or an upload's journal
    marks them), so a dataset kept under the images prefix is never fetched back as images."""
    ours = tuple(rel[: -len(mark)] for rel in listing for mark in (INVENTORY, JOURNAL)
                 if rel.endswith("/" + mark))
    return {rel: size for rel, size in listing.items() if not rel.startswith(ours)} \
        if ours else listing


def _list(s3, folder: S3Url) -> dict[str, int]:
    """Every key under ``folder``, relative to it, with its size."""
    out: dict[str, int] = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=folder.bucket,
                                                                 Prefix=folder.key):
            for obj in page.get("Contents", ()):
                out[obj["Key"][len(folder.key):]] = obj["Size"]
    except Exception as exc:  # noqa: BLE001 - botocore's errors, said in one line
        raise failure(exc, folder, "listing") from None
    return out


# --- fetching inputs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Want:
    url: S3Url
    rel: str  # where it goes under the cache's images folder
    whole: bool = True  # False: the header and the tail are enough (a dry run's images)


def _safe_rel(rel: str) -> bool:
    parts = rel.split("/")
    return bool(rel) and "\x00" not in rel and all(p not in ("", ".", "..") for p in parts)


def _fetch_one(s3, want: _Want, root: Path, transient) -> int | None:
    """Write the object to ``root/rel`` (atomically); its size, or None when it does not
    exist.  A header-only fetch leaves a sparse file of the object's size holding its first
    HEAD_BYTES and last TAIL_BYTES."""
    dest = root / want.rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.part-{threading.get_ident()}")
    bucket, key = want.url.bucket, want.url.key

    def get() -> int:
        with open(part, "wb") as out:
            if want.whole:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"]
                for chunk in body.iter_chunks(1 << 20):
                    out.write(chunk)
                return out.tell()
            got = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{HEAD_BYTES - 1}")
            out.write(got["Body"].read())
            size = int((got.get("ContentRange") or "/0").rpartition("/")[2] or 0) or out.tell()
            if size > out.tell():
                start = max(out.tell(), size - TAIL_BYTES)
                tail = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{size - 1}")
                out.seek(start)
                out.write(tail["Body"].read())
                out.truncate(size)
            return size

    try:
        size = _retrying(get, transient)
    except Exception as exc:  # noqa: BLE001 - said in one line below
        part.unlink(missing_ok=True)
        if _is_missing(exc):
            return None
        raise failure(exc, want.url, "fetching") from None
    os.replace(part, dest)
    return size


class _KeyIndex:
    """The images prefix's listing, resolved the way ``ImageIndex`` resolves a local folder
    (longest key suffix, then a unique file name), so the cache holds what a local copy's
    conversion would read."""

    def __init__(self, keys: Iterable[str], root: Path) -> None:
        from tfrecord_lite.pipeline.groundtruth.images import ImageIndex

        index = ImageIndex.__new__(ImageIndex)
        index.root = index.real_root = str(root)
        index.files, index.links, index.by_name = {}, set(), {}
        for rel in keys:
            if not _safe_rel(rel):
                continue
            index.files[rel] = rel
            name = rel.rpartition("/")[2]
            known = index.by_name.get(name)
            index.by_name[name] = rel if known is None else \
                [known, rel] if isinstance(known, str) else [*known, rel]
        self.index = index

    def resolve(self, ref: str) -> list[str]:
        """The listed files a reference would be read from (all candidates when ambiguous)."""
        try:
            return [self.index.resolve(ref)[0]]
        except InputError as exc:
            if exc.reason.startswith("ambiguous"):
                found = self.index.by_name.get(ref.rstrip("/").rpartition("/")[2])
                return list(found) if isinstance(found, list) else []
            return []


def _line_refs(raw: bytes) -> tuple[str | None, list[str]]:
    """A manifest line's ``source-ref`` and its other top-level strings (a segmentation mask's
    or a video job's SeqLabel.json reference); nothing for a line that is not JSON."""
    try:
        obj = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None, []
    if not isinstance(obj, dict):
        return None, []
    source = obj.get("source-ref")
    source = source if isinstance(source, str) and source.strip() else None
    others = [v for k, v in obj.items() if k != "source-ref" and isinstance(v, str) and v.strip()]
    return source, others


@dataclass
class Inputs:
    """Where the fetched inputs lie locally, and how to say their local paths to a user."""

    manifest: Path
    images: Path
    shown: list[tuple[str, str]] = field(default_factory=list)  # (local text, what to show)
    fetched: int = 0
    missing: int = 0
    bytes: int = 0


def fetch_inputs(s3, annotations: str | Path, images: str | Path | None, cache: Path, *,
                 concurrency: int = CONCURRENCY, headers_only: bool = False,
                 progress: Callable[[str, int, int], None] | None = None) -> Inputs:
    """Download an ``s3://`` manifest and fetch the objects it names into ``cache``.

    ``images`` an ``s3://`` prefix: each reference is matched in the prefix's listing as the
    reader matches it in a folder and the object goes to the same relative path.  ``images``
    None with an ``s3://`` manifest: each reference is fetched where it points (a relative one
    from the manifest's folder).  Missing objects are left out for the reader to report, line by
    line, as it would locally; access denied stops the run.
    """
    transient = _transient()
    shown: list[tuple[str, str]] = []
    if is_s3(annotations):
        url = S3Url.parse(str(annotations))
        if not url.key or url.key.endswith("/"):
            raise InputError(str(url), 0, "the manifest URL names a folder, not an object",
                             hint="pass the output manifest's key with -a/--annotations",
                             reason="bad-s3-url")
        name = url.key.rpartition("/")[2]
        got = _fetch_one(s3, _Want(url, name), cache / "manifest", transient)
        if got is None:
            raise InputError(str(url), 0, "the manifest does not exist in S3 (no such key)",
                             hint="pass the Ground Truth output manifest's key with -a",
                             reason="no-manifest")
        manifest = cache / "manifest" / name
        shown.append((str(manifest), str(url)))
    else:
        manifest = Path(annotations)
    listing: _KeyIndex | None = None
    root = cache / "images"
    if is_s3(images):
        prefix = S3Url.parse(str(images), folder=True)
        listing = _KeyIndex(_inputs_only(_list(s3, prefix)), root)
        shown.append((str(root), str(prefix).rstrip("/")))
        base = prefix
    elif images is None and is_s3(annotations):
        base = S3Url.parse(str(annotations)).folder
        shown.append((str(root), "S3 (each object where its reference points)"))
    else:
        return Inputs(manifest, Path(images) if images is not None else manifest.parent, shown)
    root.mkdir(parents=True, exist_ok=True)

    def wants(ref: str, image: bool) -> list[_Want]:
        whole = not (image and headers_only) or ref.lower().endswith(".json")
        if listing is not None:
            return [_Want(base.child(rel), rel, whole) for rel in listing.resolve(ref)]
        if is_s3(ref):
            url = S3Url.parse(ref)
            rel = f"{url.bucket}/{url.key}"
        elif "://" in ref or ref.startswith("/"):
            return []  # not on S3: the reader reports it
        else:
            url, rel = base.child(ref), ref
        return [_Want(url, rel, whole)] if _safe_rel(rel) and url.key else []

    first: list[_Want] = []
    sequences: list[str] = []
    from tfrecord_lite.pipeline.groundtruth.manifest import iter_raw_lines

    if not manifest.is_file():
        return Inputs(manifest, root, shown)  # the CLI says it is missing
    for _, raw in iter_raw_lines(manifest):
        if not isinstance(raw, bytes):
            continue
        source, others = _line_refs(raw)
        if source is not None:
            first += wants(source, True)
            if source.lower().endswith(".json"):
                sequences.append(source)
        for other in others:
            first += wants(other, False)
    result = Inputs(manifest, root, shown)
    seen: set[str] = set()
    _fetch_all(s3, first, root, seen, result, concurrency, transient, progress)
    frames = []  # a video line's sequence file names its frames: fetched once it is here
    from tfrecord_lite.pipeline.groundtruth.video import parse_sequence

    for ref in sequences:
        for want in wants(ref, False):
            file = root / want.rel
            if file.is_file():
                try:
                    for frame in parse_sequence(file.read_bytes(), ref):
                        frames += wants(frame, True)
                except InputError:
                    pass  # the reader reports the bad sequence file
    _fetch_all(s3, frames, root, seen, result, concurrency, transient, progress)
    return result


def _fetch_all(s3, wants: list[_Want], root: Path, seen: set[str], result: Inputs,
               concurrency: int, transient, progress) -> None:
    todo = []
    for want in wants:
        if want.rel not in seen:
            seen.add(want.rel)
            todo.append(want)
    done = 0
    for _, size in _bounded(lambda w: _fetch_one(s3, w, root, transient), todo, concurrency):
        done += 1
        if size is None:
            result.missing += 1
        else:
            result.fetched += 1
            result.bytes += size
        if progress:
            progress(FETCH, done, len(todo))


# --- uploading the dataset ----------------------------------------------------------------------


def _alive_here(journal: dict) -> bool:
    """The run that wrote ``journal`` is still going on this machine."""
    if journal.get("host") != socket.gethostname():
        return False
    pid = journal.get("pid")
    return isinstance(pid, int) and pid != os.getpid() and process_alive(pid)


class Upload:
    """Publish a locally built dataset under an ``s3://`` prefix, as far as S3 allows whole.

    Checked at once (before any work): leftovers of a killed run are removed by its journal;
    a non-empty prefix is refused unless it holds only a dataset we wrote (its inventory) and
    ``overwrite`` is given.  ``publish()``: journal first, then the old ``dataset_info.yaml``
    goes, then old files the new dataset does not have, then the new files (large ones in
    parts), the inventory, and ``dataset_info.yaml`` last; the journal is removed at the end.
    """

    def __init__(self, s3, target: S3Url, overwrite: bool,
                 inputs: Iterable[tuple[str, S3Url]] = (),
                 concurrency: int = CONCURRENCY, dry_run: bool = False) -> None:
        self.s3, self.target, self.overwrite = s3, target, overwrite
        self.dry_run = dry_run  # check only: a killed run's leftovers are counted, not removed
        self.concurrency = concurrency
        self.run = uuid.uuid4().hex
        self.published = False
        self._journal: list[str] | None = None  # the keys this run may have touched
        self._touched = False  # the old dataset_info.yaml is gone: the old dataset is broken
        for what, folder in inputs:  # inside one is fine: only a new prefix or ours is written
            if target.holds(folder):
                relation = "is" if folder == target else "holds"
                raise OutputError(f"--output {target} {relation} {what} {folder}; write the "
                                  "dataset to a new prefix, beside the job's files or inside "
                                  "its folder")
        self.old = self._replaceable()

    def _get_json(self, rel: str) -> dict | None:
        try:
            body = self.s3.get_object(Bucket=self.target.bucket, Key=self.target.key + rel)
            doc = json.loads(body["Body"].read().decode("utf-8"))
        except ValueError:
            return None
        except Exception as exc:  # noqa: BLE001
            if _is_missing(exc):
                return None
            raise failure(exc, self.target.child(rel), "reading") from None
        return doc if isinstance(doc, dict) else None

    def _replaceable(self) -> set[str]:
        present = _list(self.s3, self.target)
        present.pop("", None)  # a console's folder marker for the prefix itself
        if JOURNAL in present and self.dry_run:
            present = {k: v for k, v in present.items() if k not in self._leftovers(present)}
        elif JOURNAL in present:
            self._clean_interrupted(present)
            present = _list(self.s3, self.target)
            present.pop("", None)
        if not present:
            return set()
        names = sorted(present)
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        doc = self._get_json(INVENTORY) if INVENTORY in present else None
        files = doc.get("files") if doc else None
        old = {f for f in files if isinstance(f, str)} | {INVENTORY} \
            if isinstance(files, list) and INFO in files else None
        if old is None:
            raise OutputError(
                f"output {self.target} is not empty ({len(names)} objects: {shown}) and holds "
                "no dataset written by tfrecord-lite; choose a new or empty prefix "
                "(--overwrite replaces only a dataset we wrote)")
        foreign = [n for n in names if n not in old]
        if foreign:
            more = ", ".join(foreign[:4]) + (", ..." if len(foreign) > 4 else "")
            raise OutputError(
                f"output {self.target} holds a dataset plus {len(foreign)} object(s) that are "
                f"not part of it ({more}); move them out or choose another --output "
                "(--overwrite replaces only the dataset's own files)")
        if not self.overwrite:
            raise OutputError(
                f"output {self.target} is not empty: it holds a dataset ({len(names)} objects: "
                f"{shown}); pass --overwrite to replace it, or choose a new prefix")
        return {n for n in names if n in old}

    def _clean_interrupted(self, present: dict[str, int]) -> None:
        """Remove what a killed run left, as its journal lists it; a complete dataset (its
        ``dataset_info.yaml`` stands: nothing was touched yet, or all was done) is kept."""
        leftovers = self._leftovers(present)
        if INFO not in present:
            self._abort_multipart(leftovers)
        self._delete(sorted(f for f in leftovers if f in present))

    def _leftovers(self, present: dict[str, int]) -> set[str]:
        """The keys a killed run's journal says are its own: all it lists unless a complete
        dataset stands (then nothing was touched yet, or all was done), and the journal."""
        journal = self._get_json(JOURNAL) or {}
        if _alive_here(journal):
            raise OutputError(f"another conversion (pid {journal['pid']}) is writing into "
                              f"{self.target}; wait for it to finish")
        listed = {f for f in journal.get("files", ()) if isinstance(f, str)}
        return {JOURNAL} if INFO in present else listed | {JOURNAL}

    def _delete(self, rels: list[str]) -> None:
        for start in range(0, len(rels), 1000):
            batch = [{"Key": self.target.key + r} for r in rels[start:start + 1000]]
            try:
                got = self.s3.delete_objects(Bucket=self.target.bucket,
                                             Delete={"Objects": batch, "Quiet": True})
            except Exception as exc:  # noqa: BLE001
                raise failure(exc, self.target, "deleting") from None
            errors = got.get("Errors") or []
            if errors:
                e = errors[0]
                raise failure(_Coded(e.get("Code", ""), e.get("Message", "")),
                              S3Url(self.target.bucket, e.get("Key", "")), "deleting")

    def _abort_multipart(self, rels: set[str]) -> None:
        """Parts of large files a killed run had begun (S3 keeps and bills them)."""
        keys = {self.target.key + r for r in rels}
        try:
            pages = self.s3.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.target.bucket, Prefix=self.target.key)
            for page in pages:
                for up in page.get("Uploads", ()):
                    if up["Key"] in keys:
                        self.s3.abort_multipart_upload(Bucket=self.target.bucket,
                                                       Key=up["Key"], UploadId=up["UploadId"])
        except Exception as exc:  # noqa: BLE001
            raise failure(exc, self.target, "aborting unfinished uploads") from None

    def _put(self, rel: str, body: bytes) -> None:
        try:
            self.s3.put_object(Bucket=self.target.bucket, Key=self.target.key + rel, Body=body)
        except Exception as exc:  # noqa: BLE001
            raise failure(exc, self.target.child(rel), "uploading") from None

    def publish(self, local: Path, progress: Callable[[str, int, int], None] | None = None
                ) -> None:
        """Upload the dataset in ``local`` (as ``convert`` published it there)."""
        files = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
        if INFO not in files:
            raise OutputError(f"{local} holds no {INFO}: nothing to upload")
        self._journal = sorted(set(files) | self.old)
        doc = {"run": self.run, "host": socket.gethostname(), "pid": os.getpid(),
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "files": self._journal}
        self._put(JOURNAL, json.dumps(doc, indent=0).encode("utf-8"))
        if self.old:
            self._touched = True
            self._delete([INFO])  # first: old shards never stand beside a dataset_info.yaml
            self._delete(sorted(self.old - set(files) - {INFO}))
        self._touched = True
        bulk = sorted((f for f in files if f not in (INFO, INVENTORY)),
                      key=lambda f: -(local / f).stat().st_size)  # large ones start first
        total = sum((local / f).stat().st_size for f in files)
        done = 0
        for _, size in _bounded(lambda f: self._upload(local / f, f), bulk, self.concurrency):
            done += size
            if progress:
                progress(UPLOAD, done, total)
        if INVENTORY in files:
            self._upload(local / INVENTORY, INVENTORY)
        doc = self._get_json(JOURNAL)
        if not doc or doc.get("run") != self.run:
            raise OutputError(f"another run took over {self.target} while uploading; "
                              f"{INFO} was not written")
        self._upload(local / INFO, INFO)  # last: the commit marker
        self.published = True
        if progress:
            progress(UPLOAD, total, total)
        with contextlib.suppress(S3Error):  # the dataset is complete; a stale journal is harmless
            self._delete([JOURNAL])

    def _upload(self, path: Path, rel: str) -> int:
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(multipart_threshold=MULTIPART, multipart_chunksize=MULTIPART,
                                max_concurrency=4)
        try:
            self.s3.upload_file(str(path), self.target.bucket, self.target.key + rel,
                                Config=config)
        except Exception as exc:  # noqa: BLE001 - S3UploadFailedError wraps the ClientError
            cause = exc.__cause__ or exc.__context__ or exc
            raise failure(cause if _code(cause) else exc, self.target.child(rel),
                          "uploading") from None
        return path.stat().st_size

    def discard(self) -> None:
        """After a failure: remove what this run wrote (and, once it began replacing, the old
        dataset's files, which no longer form a dataset), then the journal.  If S3 cannot be
        reached now, the journal stays and the next run cleans up by it."""
        if self.published or self._journal is None:
            return
        try:
            if self._touched:
                present = _list(self.s3, self.target)
                self._abort_multipart(set(self._journal))
                self._delete([f for f in self._journal if f in present and f != JOURNAL])
            self._delete([JOURNAL])
        except S3Error:
            pass


class _Coded(Exception):
    """A per-key error of a batch delete, shaped like a ClientError for ``failure``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.response = {"Error": {"Code": code, "Message": message}}
