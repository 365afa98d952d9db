"""Shared fixtures of the TensorFlow compatibility suite (run by `make compat` in `.venv-tf`).

Every test here takes the ``tf`` fixture, which FAILS (never skips) when TensorFlow cannot be
imported: a compat run without TensorFlow must not pass by checking nothing.
"""

from __future__ import annotations

import os
from types import ModuleType

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

try:
    import tensorflow as _tf

    _TF_ERROR: BaseException | None = None
except Exception as exc:  # ImportError, or a broken install raising something else
    _tf = None
    _TF_ERROR = exc


@pytest.fixture(autouse=True)
def tf() -> ModuleType:
    """The tensorflow module; a missing TensorFlow fails every compat test loudly."""
    if _tf is None:
        pytest.fail(
            f"tests/compat needs TensorFlow ({_TF_ERROR!r}); run `make compat`, which builds "
            ".venv-tf from benchmarks/requirements-tf.txt",
            pytrace=False,
        )
    return _tf
