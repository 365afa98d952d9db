"""Build a dataset out of sight and move it into place whole; replace only what we wrote.

Two ways, chosen by where the output lives:
- *sibling* (the usual case): stage in a hidden folder next to the output, then ``rename`` it
  into place.  The output folder either does not exist or is complete; two runs racing for one
  output cannot mix (the second ``rename`` onto a non-empty folder fails).
- *in place* (the output is a mount point, e.g. a container's ``/data_out``, or its parent is
  not writable): stage inside the output under a lock, move the split folders in, and write
  ``dataset_info.yaml`` last, so a dataset_info.yaml never stands beside partial shards.
Leftovers of a killed run are recognised by name and removed on the next run.

Every dataset carries an inventory (``.tfrecord-lite-files``) of the files it consists of.
``--overwrite`` replaces a folder only when everything in it is on that inventory, removes
exactly those files, and only once the new dataset is complete.  An output that is or holds an
input folder is refused outright; one inside an input folder is fine (a new folder, an empty one or
a dataset of ours), and later runs never read such a dataset back as input (``written_here``).
An output that is a symlink is written through: the dataset lands in the link's target.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

from tfrecord_lite.pipeline.dataset_info import FILENAME as INFO
from tfrecord_lite.pipeline.errors import OutputError
from tfrecord_lite.pipeline.formats import tfrecord_format

INVENTORY = ".tfrecord-lite-files"
_LOCK = ".tfrecord-lite.lock"
_STAGE = re.compile(r"^\.(?:.*\.)?tfrecord-lite-(?:stage|old)-(\d+)-[0-9a-f]{8}$")
_SHOWN = 4  # entries named in a refusal
_PERMISSION_HINT = (
    "make it writable, or choose another --output (in the container: run with "
    '--user "$(id -u):$(id -g)", or chown the mounted folder to uid 10001)'
)


def process_alive(pid: int) -> bool:
    """A process with this id exists (perhaps another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    """Remove a stage folder (only ever called on names matching ``_STAGE``)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def clean_leftovers(folder: str | os.PathLike[str],
                    pattern: re.Pattern[str] = _STAGE) -> None:
    """Remove what runs that no longer exist left in ``folder`` (a SIGKILL leaves stages and
    caches behind): the entries whose names match ``pattern``, its first group a process id."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        m = pattern.match(entry.name)
        if m and int(m[1]) != os.getpid() and not process_alive(int(m[1])):
            _remove(Path(entry.path))


def _ours(name: str) -> bool:
    return name == _LOCK or bool(_STAGE.match(name))


def _shown(names: Sequence[str]) -> str:
    return ", ".join(names[:_SHOWN]) + (", ..." if len(names) > _SHOWN else "")


def _files_under(root: Path) -> list[str]:
    """Every entry below ``root`` as sorted relative posix paths, folders with a trailing ``/``;
    stage and lock names at the top are skipped.  Links are never followed."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        if rel == Path("."):
            dirnames[:] = [d for d in dirnames if not _ours(d)]
            filenames = [f for f in filenames if not _ours(f)]
        out += [(rel / f).as_posix() for f in filenames]
        for d in dirnames:  # os.walk lists links to folders here, and does not enter them
            link = (Path(dirpath) / d).is_symlink()
            out.append((rel / d).as_posix() + ("" if link else "/"))
    return sorted(out)


def _inventory(folder: Path) -> set[str] | None:
    """The files a dataset we wrote consists of, or None when ``folder`` holds no dataset of ours.

    Read from the inventory; a dataset from before the inventory existed is recognised by its
    ``dataset_info.yaml`` listing TFRecord shards."""
    try:
        doc = json.loads((folder / INVENTORY).read_text(encoding="utf-8"))
        files = {f for f in doc["files"] if isinstance(f, str)}
        return files | {INVENTORY} if INFO in files else None
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        import yaml

        info = yaml.safe_load((folder / INFO).read_text(encoding="utf-8"))
        ours = info["tfrecord_lite"]
        if ours["format"] != "tfrecord":
            return None
        files = {INFO}
        for split, (folder_name, _) in tfrecord_format.FOLDERS.items():
            files.add(f"{folder_name}/")
            files |= {f"{folder_name}/{f['name']}" for f in ours["files"][split]}
        return files
    except Exception:  # anything unreadable is simply not a dataset of ours
        return None


def _write_inventory(stage: Path) -> None:
    text = json.dumps({"files": _files_under(stage)}, ensure_ascii=False, indent=0)
    (stage / INVENTORY).write_text(text + "\n", encoding="utf-8")


def _remove_files(folder: Path, files: Iterable[str]) -> None:
    """Remove exactly ``files`` below ``folder``, then the folders they leave empty."""
    dirs = set()
    for rel in files:
        if rel.endswith("/"):
            dirs.add(Path(rel))
            continue
        try:
            (folder / rel).unlink()
        except FileNotFoundError:
            pass
        parent = Path(rel).parent
        while parent != Path("."):
            dirs.add(parent)
            parent = parent.parent
    for rel in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        try:
            (folder / rel).rmdir()
        except OSError:
            pass  # not empty: someone else's file is in it, and stays


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def written_here(folder: str | os.PathLike[str]) -> bool:
    """``folder`` is one this program writes: a dataset of ours (it carries the inventory) or a
    run's stage.  Readers of inputs skip these, so a dataset kept inside the images folder is
    never read back as images by a later run."""
    return bool(_STAGE.match(os.path.basename(folder))) or \
        os.path.isfile(os.path.join(folder, INVENTORY))


def check_apart(target: Path, inputs: Sequence[tuple[str, Path]]) -> None:
    """Refuse an output that is or holds an input (even with --overwrite): replacing it, or a
    dataset folder around the job, is how a user's files get lost.  An output inside an input
    folder is fine: only a new or empty folder or a dataset of ours is ever written."""
    out = os.path.realpath(target)
    for what, path in inputs:
        where = os.path.realpath(path)
        if _inside(where, out):
            relation = "is" if out == where else "holds"
            raise OutputError(
                f"--output {target} {relation} {what} {path}; write the dataset to a new "
                "folder, beside the job's files or inside its folder"
            )


def resolve_link(target: Path) -> Path:
    """The folder a dataset at ``target`` is written in: ``target`` itself, or the folder it
    links to (the link is never moved or replaced).  A link to nothing or to a file is refused
    before any work."""
    if not os.path.islink(target):
        return target
    real = Path(os.path.realpath(target))
    if not real.exists():
        raise OutputError(
            f"--output {target} is a symlink to {os.readlink(target)}, which does not exist; "
            "create that folder (or remove the link) and run again"
        )
    if not real.is_dir():
        raise OutputError(
            f"--output {target} is a symlink to the file {real}, not a folder; choose another "
            "--output"
        )
    return real


def _replaceable(target: Path, overwrite: bool) -> set[str]:
    """The old dataset's files when the existing folder ``target`` may be replaced; else refuse."""
    present = _files_under(target)
    if not present:
        return set()  # an empty folder
    old = _inventory(target)
    foreign = [f for f in present if old is None or f not in old]
    entries = sorted(n for n in os.listdir(target) if not _ours(n))
    if old is None:
        raise OutputError(
            f"output folder {target} is not empty ({len(entries)} entries: "
            f"{_shown(entries)}) and holds no dataset written by tfrecord-lite; "
            "choose a new or empty folder (--overwrite replaces only a dataset we wrote)"
        )
    if foreign:
        raise OutputError(
            f"output folder {target} holds a dataset plus {len(foreign)} file(s) "
            f"that are not part of it ({_shown(foreign)}); move them out or choose "
            "another --output (--overwrite replaces only the dataset's own files)"
        )
    if not overwrite:
        raise OutputError(
            f"output folder {target} is not empty: it holds a dataset ({len(entries)} "
            f"entries: {_shown(entries)}); pass --overwrite to replace it, or choose a new "
            "folder"
        )
    return old


def check_output(
    target: Path, overwrite: bool, inputs: Sequence[tuple[str, Path]] = ()
) -> set[str]:
    """Everything ``Stage`` refuses, checked without writing anything; returns the files of the
    dataset that publishing would replace (none for a new or empty folder)."""
    target = resolve_link(Path(os.path.abspath(target)))
    check_apart(target, inputs)
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target} exists and is not a folder; choose another --output")
    return _replaceable(target, overwrite) if target.is_dir() else set()


class Stage:
    """A hidden folder to build the dataset in; ``publish()`` moves it into ``target``."""

    def __init__(
        self, target: Path, overwrite: bool, inputs: Sequence[tuple[str, Path]] = ()
    ) -> None:
        self.target = resolve_link(Path(os.path.abspath(target)))  # a link: its target
        self.overwrite = overwrite
        self._lock_fd: int | None = None
        self.published = False
        self._old = check_output(self.target, overwrite, inputs)  # before anything is written
        tag = f"tfrecord-lite-stage-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)  # like mkdir -p: a new nested output is fine
        except OSError as exc:
            raise OutputError(
                f"cannot create the folder of --output {parent}: {_why(exc)}"
            ) from None
        clean_leftovers(parent)
        exists = self.target.is_dir()
        if exists:
            clean_leftovers(self.target)
        self.in_place = exists and (os.path.ismount(self.target) or not os.access(parent, os.W_OK))
        try:
            if self.in_place:
                self._lock()
                self.dir = self.target / f".{tag}"
            else:
                self.dir = parent / f".{self.target.name}.{tag}"
            self.dir.mkdir()
        except OSError as exc:
            self._unlock()
            where = self.target if self.in_place else parent
            raise OutputError(
                f"cannot write into {where}: {_why(exc)}; {_PERMISSION_HINT}"
            ) from None

    def _lock(self) -> None:
        fd = os.open(self.target / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(
                f"another conversion is writing into {self.target}; wait for it to finish"
            ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            try:
                os.unlink(self.target / _LOCK)
            except OSError:
                pass
            os.close(self._lock_fd)
            self._lock_fd = None

    def publish(self) -> None:
        """Move the finished dataset into place (``dataset_info.yaml`` must be in the stage)."""
        _write_inventory(self.dir)
        try:
            changed = self._changed()
            if changed:
                self.discard()
                raise OutputError(
                    f"{self.target} was filled by someone else while converting "
                    f"({_shown(changed)}); nothing was published"
                )
            if self.in_place:
                self._publish_in_place()
            else:
                self._publish_by_rename()
            self.published = True
        finally:
            self._unlock()

    def _changed(self) -> list[str]:
        """Files that appeared in the output while converting and are not the old dataset's."""
        if not self.target.is_dir():
            return []
        return [f for f in _files_under(self.target) if f not in self._old]

    def _publish_by_rename(self) -> None:
        old = None
        if self._old:
            old = self.target.parent / f".{self.target.name}.{self.dir.name.split('.')[-1]}"
            old = old.with_name(old.name.replace("-stage-", "-old-"))
            os.rename(self.target, old)
        try:
            os.rename(self.dir, self.target)
        except OSError as exc:
            if old is not None:
                try:
                    os.rename(old, self.target)
                except OSError:
                    pass  # another run's dataset stands there now; ours stays hidden in ``old``
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                self.discard()
                raise OutputError(
                    f"another run published a dataset into {self.target} first; "
                    "nothing was published by this run"
                ) from None
            raise
        if old is not None:
            _remove_files(old, self._old)
            try:
                old.rmdir()
            except OSError:  # someone wrote into the old dataset meanwhile: keep their files
                os.rename(old, old.with_name(old.name.replace("tfrecord-lite-old", "kept")))

    def _publish_in_place(self) -> None:
        info = self.target / INFO
        if info.exists():
            info.unlink()  # first, so old shards never stand beside a dataset_info.yaml
        _remove_files(self.target, self._old)
        for name in sorted(os.listdir(self.dir)):
            if name != INFO:
                os.rename(self.dir / name, self.target / name)
        os.rename(self.dir / INFO, info)
        self.dir.rmdir()

    def discard(self) -> None:
        """Remove everything this run staged; what the user had is untouched."""
        _remove(self.dir)
        self._unlock()


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
