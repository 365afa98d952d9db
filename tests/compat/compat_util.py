"""Helpers the compat tests share (a plain module: conftest.py is not meant to be imported)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest


def run_python(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run code in a fresh interpreter of this venv; a failure fails the test with its output."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"subprocess exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n"
            f"{proc.stderr[-4000:]}",
            pytrace=False,
        )
    return proc


def tf_records(tf: Any, paths: Any, compression_type: str | None = None) -> list[bytes]:
    """Every record of one file or a list of files, as TensorFlow's input pipeline reads them."""
    if not isinstance(paths, (list, tuple)):
        paths = [paths]
    dataset = tf.data.TFRecordDataset([str(p) for p in paths], compression_type=compression_type)
    return [bytes(r) for r in dataset.as_numpy_iterator()]


def modelpack_spec(tf: Any) -> dict[str, Any]:
    """The feature spec a ModelPack training pipeline parses records with."""
    return {
        "image": tf.io.FixedLenFeature([], tf.string),
        "image_name": tf.io.FixedLenFeature([], tf.string),
        "width": tf.io.FixedLenFeature([], tf.int64),
        "height": tf.io.FixedLenFeature([], tf.int64),
        "objects": tf.io.VarLenFeature(tf.int64),
        "bboxes": tf.io.VarLenFeature(tf.float32),
    }
