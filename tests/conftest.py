"""Test-suite hooks.

``TFRECORD_LITE_HASH_LOG=FILE pytest ...`` appends, for every test, the SHA-256 of each file of
every dataset (a folder with ``dataset_info.yaml``) the test left in its ``tmp_path``; the
temporary path is masked in the bytes first.  Two logs taken before and after a refactor
(``scripts/compare_hashes.py``) show whether any conversion's output changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest


def _dataset_hashes(root: Path) -> dict[str, str]:
    masks = {str(root).encode(), str(root.resolve()).encode()}
    out = {}
    for info in sorted(root.rglob("dataset_info.yaml")):
        base = info.parent
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            data = path.read_bytes()
            for mask in masks:
                data = data.replace(mask, b"<tmp>")
            out[str(path.relative_to(root))] = hashlib.sha256(data).hexdigest()
    return out


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    log = os.environ.get("TFRECORD_LITE_HASH_LOG")
    tmp = getattr(item, "funcargs", {}).get("tmp_path")
    if not log or tmp is None or not Path(tmp).exists():
        return
    hashes = _dataset_hashes(Path(tmp))
    if hashes:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"test": item.nodeid, "files": hashes}) + "\n")
