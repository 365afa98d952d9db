"""Install size and start-up time: what a user pays before converting anything."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def tree_bytes(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def installed_size() -> dict[str, Any]:
    """Build our wheel, `pip install --target` it with its dependencies, and add up the bytes.

    The wheel is built from a clean copy of the checkout (scripts/dist_check.py's): built in the
    tree, setuptools would reuse build/lib, where modules of an older layout linger."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from dist_check import clean_copy

    with tempfile.TemporaryDirectory() as tmp:
        wheels, target = Path(tmp) / "wheels", Path(tmp) / "site"
        source = clean_copy(Path(tmp) / "src")
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], check=True,
                       capture_output=True)
        wheel = next(wheels.glob("*.whl"))
        wheel_size = wheel.stat().st_size
        subprocess.run([*pip, "install", "--no-compile", "--target", str(target), str(wheel)],
                       check=True, capture_output=True)
        parts = {p.name: tree_bytes(p) for p in target.iterdir() if p.is_dir()}
        ours = sum(v for k, v in parts.items() if k.startswith("tfrecord_lite"))
        total = tree_bytes(target)
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    return {"total": total, "ours": ours, "wheel": wheel_size,
            "tensorflow": tree_bytes(site / "tensorflow") if (site / "tensorflow").exists() else 0}


def _median_wall(cmd: list[str], runs: int) -> float:
    times = []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup_times(runs: int = 11) -> dict[str, float]:
    """Median wall time of `tfrecord-lite --help`, bare Python, and `import tensorflow`."""
    return {
        "help": _median_wall([str(BIN / "tfrecord-lite"), "--help"], runs),
        "python": _median_wall([sys.executable, "-c", "pass"], runs),
        "import_ours": _median_wall([sys.executable, "-c", "import tfrecord_lite"], runs),
        "import_tf": _median_wall([sys.executable, "-c", "import tensorflow"], 3),
    }
