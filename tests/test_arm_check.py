"""scripts/arm_check.py (make arm-check's checker under qemu-aarch64) can fail: on this host it
finds that the machine is not aarch64 and the CRC is not the ARMv8 one, and nothing else (the
known answers and the three CRC paths agree here too)."""

from __future__ import annotations

import importlib.util
import platform
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("arm_check", ROOT / "scripts" / "arm_check.py")
assert _spec is not None and _spec.loader is not None
arm_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(arm_check)


def test_the_arm_checker_refuses_a_host_that_is_not_aarch64(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tfrecord_lite.format._speedups", reason="the C core is not built")
    pytest.importorskip("tfrecord_lite.pipeline.formats._tracer", reason="no C tracer")
    if platform.machine() == "aarch64":
        pytest.skip("on aarch64 the checker has nothing to refuse")
    import tfrecord_lite

    problems = arm_check.main(ROOT)
    assert f"running on {platform.machine()}, not aarch64" in problems
    assert any(p.startswith("CRC_KIND is ") and "want 'armv8'" in p for p in problems)
    others = [p for p in problems if "aarch64" not in p and not p.startswith("CRC_KIND")]
    if not tfrecord_lite.speedups.compiled:  # the unit suite's pure run (TFRECORD_LITE_PURE=1)
        assert others == [f"tfrecord_lite.speedups says {tfrecord_lite.speedups}"]
    else:
        assert others == []
    # the module check: a module from elsewhere than the tree it is told of is refused
    assert any("not a " in p and "module built in /nonexistent" in p
               for p in arm_check.main(Path("/nonexistent")))
