"""Build a dataset out of sight and move it into place whole.

Two ways, chosen by where the output lives:
- *sibling* (the usual case): stage in a hidden folder next to the output, then ``rename`` it
  into place.  The output folder either does not exist or is complete; two runs racing for one
  output cannot mix (the second ``rename`` onto a non-empty folder fails).
- *in place* (the output is a mount point, e.g. a container's ``/data_out``, or its parent is
  not writable): stage inside the output under a lock, move the split folders in, and write
  ``dataset_info.yaml`` last, so a dataset_info.yaml never stands beside partial shards.
Leftovers of a killed run are recognised by name and removed on the next run.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import uuid
from pathlib import Path

from .dataset.info import FILENAME as INFO
from .errors import OutputError

_LOCK = ".tfrecord-lite.lock"
_STAGE = re.compile(r"^\.(?:.*\.)?tfrecord-lite-(?:stage|old)-(\d+)-[0-9a-f]{8}$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _clean_leftovers(folder: Path) -> None:
    """Remove stage folders of runs that no longer exist (a SIGKILL leaves them behind)."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        m = _STAGE.match(entry.name)
        if m and int(m[1]) != os.getpid() and not _alive(int(m[1])):
            _remove(Path(entry.path))


def _ours(name: str) -> bool:
    return name == _LOCK or bool(_STAGE.match(name))


class Stage:
    """A hidden folder to build the dataset in; ``publish()`` moves it into ``target``."""

    def __init__(self, target: Path, overwrite: bool) -> None:
        self.target = Path(os.path.abspath(target))
        self.overwrite = overwrite
        self._lock_fd: int | None = None
        tag = f"tfrecord-lite-stage-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        parent = self.target.parent
        if self.target.exists() and not self.target.is_dir():
            raise OutputError(f"{self.target} exists and is not a folder; choose another --output")
        try:
            parent.mkdir(parents=True, exist_ok=True)  # like mkdir -p: a new nested output is fine
        except OSError as exc:
            raise OutputError(f"cannot create the folder of --output {parent}: {exc}") from None
        _clean_leftovers(parent)
        exists = self.target.is_dir()
        if exists:
            _clean_leftovers(self.target)
            self._check_empty()
        self.in_place = exists and (os.path.ismount(self.target) or not os.access(parent, os.W_OK))
        if self.in_place:
            self._lock()
            self.dir = self.target / f".{tag}"
        else:
            self.dir = parent / f".{self.target.name}.{tag}"
        self.dir.mkdir()

    def _check_empty(self) -> None:
        names = sorted(n for n in os.listdir(self.target) if not _ours(n))
        if names and not self.overwrite:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise OutputError(
                f"output folder {self.target} is not empty ({len(names)} entries: {shown}); "
                "choose a new or empty folder, or pass --overwrite to replace its contents"
            )

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
        try:
            if self.in_place:
                self._publish_in_place()
            else:
                self._publish_by_rename()
        finally:
            self._unlock()

    def _publish_by_rename(self) -> None:
        old = None
        if self.target.is_dir() and any(not _ours(n) for n in os.listdir(self.target)):
            if not self.overwrite:
                self.discard()
                raise OutputError(
                    f"{self.target} was filled by someone else while converting; "
                    "nothing was published"
                )
            old = self.target.parent / f".{self.target.name}.{self.dir.name.split('.')[-1]}"
            old = old.with_name(old.name.replace("-stage-", "-old-"))
            os.rename(self.target, old)
        try:
            os.rename(self.dir, self.target)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                self.discard()
                raise OutputError(
                    f"another run published a dataset into {self.target} first; "
                    "nothing was published by this run"
                ) from None
            raise
        if old is not None:
            _remove(old)

    def _publish_in_place(self) -> None:
        info = self.target / INFO
        if info.exists():
            info.unlink()  # first, so old shards never stand beside a dataset_info.yaml
        for name in os.listdir(self.target):
            if not _ours(name):
                _remove(self.target / name)
        for name in sorted(os.listdir(self.dir)):
            if name != INFO:
                os.rename(self.dir / name, self.target / name)
        os.rename(self.dir / INFO, info)
        self.dir.rmdir()

    def discard(self) -> None:
        """Remove everything this run staged; what the user had is untouched."""
        _remove(self.dir)
        self._unlock()
