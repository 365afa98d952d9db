"""TensorFlow and tfrecord_lite in one environment (pip check clean, nothing TensorFlow brought
downgraded by our install) and in one process, either import order; and we never pull TF in.

Each check runs in a fresh interpreter, since import order only matters on first import (two
protobuf descriptor pools, two copies of example.proto under different packages).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from compat_util import run_python

ROUND_TRIP = r"""
import sys, tempfile, os
{imports}
value = {{"image": b"\xff\xd8" * 10, "image_name": "caf\u00e9.jpg", "width": 640, "height": 480,
         "objects": [0, 2], "bboxes": [0.5, 0.5, 0.25, 0.25, 0.1, 0.2, 0.3, 0.4]}}
ours = tfrecord_lite.encode_example(value)
theirs = tf.train.Example.FromString(ours)
assert theirs.features.feature["width"].int64_list.value == [640]
assert theirs.features.feature["image_name"].bytes_list.value == ["caf\u00e9.jpg".encode()]
back = tfrecord_lite.decode_example(theirs.SerializeToString())
assert back["objects"] == [0, 2] and back["image"] == [value["image"]], back
# our message class and TF's live side by side (different proto packages, no pool clash)
mine = tfrecord_lite.Example.FromString(theirs.SerializeToString())
assert mine.features.feature["height"].int64_list.value == [480]
assert type(mine).DESCRIPTOR.full_name != type(theirs).DESCRIPTOR.full_name
path = os.path.join(tempfile.mkdtemp(), "x.tfrecord")
with tfrecord_lite.TFRecordWriter(path) as w:
    w.write(ours)
got = [bytes(r) for r in tf.data.TFRecordDataset(path).as_numpy_iterator()]
assert got == [ours], got
print("ok", tf.__version__)
"""


@pytest.mark.parametrize(
    "imports",
    [
        "import tensorflow as tf\nimport tfrecord_lite",
        "import tfrecord_lite\nimport tensorflow as tf",
    ],
    ids=["tensorflow-first", "tfrecord_lite-first"],
)
def test_both_import_orders_work(tf: Any, imports: str) -> None:
    proc = run_python(ROUND_TRIP.format(imports=imports))
    assert proc.stdout.startswith("ok "), proc.stdout


NO_TF = r"""
import importlib, importlib.util, pkgutil, sys, io, contextlib
import tfrecord_lite
assert "tensorflow" not in sys.modules, "import tfrecord_lite imported tensorflow"
from tfrecord_lite.tools.cli import COMMANDS
# subcommands whose module exists (they land one by one); each one's --help imports it
present = [name for name, mod in COMMANDS.items() if importlib.util.find_spec(mod) is not None]
from tfrecord_lite.tools.cli import main  # what the console script and python -m run, in process
for argv in [["--help"]] + [[name, "--help"] for name in present]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(argv)
    assert "tensorflow" not in sys.modules, f"tfrecord-lite {argv} imported tensorflow"
# every module of the package, imported: none may reach for TensorFlow
failed = []
for info in pkgutil.walk_packages(tfrecord_lite.__path__, "tfrecord_lite."):
    if info.name.endswith("__main__"):
        continue
    try:
        importlib.import_module(info.name)
    except ImportError as exc:
        failed.append(f"{info.name}: {exc}")
leaked = sorted(m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow."))
assert not leaked, leaked[:5]
assert not any("tensorflow" in f for f in failed), failed
print("ok", len(sys.modules))
"""


def test_product_never_imports_tensorflow(tf: Any) -> None:
    """Even with TensorFlow installed, importing and running our CLI leaves it unloaded."""
    proc = run_python(NO_TF)
    assert proc.stdout.startswith("ok"), proc.stdout


def test_cli_help_runs_as_module(tf: Any) -> None:
    proc = subprocess.run([sys.executable, "-m", "tfrecord_lite", "--help"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "usage" in proc.stdout.lower(), proc.stderr


def test_no_tensorflow_in_product_source(tf: Any) -> None:
    """A static backstop: no module of the package names tensorflow in an import."""
    import tfrecord_lite

    root = Path(tfrecord_lite.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            text = line.strip()
            if text.startswith(("import ", "from ")) and "tensorflow" in text:
                offenders.append(f"{path.relative_to(root)}:{n}: {text}")
    assert not offenders, offenders


# --- one environment for both: `make compat` installs TensorFlow's side first, records what it
# installed (pip list), then installs our package on top (Makefile, $(TFVENV)/.ok).
BEFORE_US = Path(sys.prefix) / "before-tfrecord-lite.json"


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _versions(listing: str) -> dict[str, str]:
    return {canonicalize(d["name"]): d["version"] for d in json.loads(listing)}


def canonicalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_pip_check_is_clean_with_tensorflow_and_us(tf: Any) -> None:
    """Every installed distribution's requirements hold, ours and TensorFlow's together."""
    proc = _pip("check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No broken requirements found" in proc.stdout, proc.stdout
    now = _versions(_pip("list", "--format=json").stdout)
    assert "tensorflow-cpu" in now and "tfrecord-lite-tools" in now, sorted(now)


def test_installing_us_changed_no_package_tensorflow_brought(tf: Any) -> None:
    """Our install (after TensorFlow's) kept every version pip had picked for TensorFlow's side:
    no downgrade of protobuf, Pillow, numpy or anything else, and nothing removed."""
    if not BEFORE_US.is_file():
        pytest.fail(f"{BEFORE_US} is missing: remake the venv with `rm -rf {sys.prefix}; "
                    "make compat`", pytrace=False)
    before = _versions(BEFORE_US.read_text(encoding="utf-8"))
    now = _versions(_pip("list", "--format=json").stdout)
    changed = {n: (v, now.get(n, "removed")) for n, v in before.items() if now.get(n) != v}
    assert not changed, f"installing tfrecord-lite-tools changed (before, after): {changed}"
    ours = {"tfrecord-lite-tools"} | {
        canonicalize(re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0])
        for r in importlib.metadata.requires("tfrecord-lite-tools") or []
        if "extra ==" not in r
    }
    added = set(now) - set(before)
    assert added <= ours, f"installing us added more than us and our dependencies: {added - ours}"


def test_protobuf_and_pillow_are_what_tensorflow_picked(tf: Any) -> None:
    """The shared runtime is the newest TensorFlow 2.21 allows, and ours runs on it."""
    proc = run_python(
        "import google.protobuf, PIL, tfrecord_lite, tensorflow as tf\n"
        "from tfrecord_lite._protos import example_pb2\n"
        "print(google.protobuf.__version__, PIL.__version__, tf.__version__)"
    )
    protobuf, pillow, tf_version = proc.stdout.split()
    assert tf_version.startswith("2.21."), tf_version
    assert 6 <= int(protobuf.split(".")[0]) <= 7, protobuf  # inside ours: >=6.31.1,<8
    assert int(pillow.split(".")[0]) <= 13, pillow
