"""The Beam suite runs beside the unit suite's helpers and its loopback S3 fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: gt_helpers, test_s3store

from test_s3store import bucket, cards, endpoint, s3  # noqa: E402, F401 - fixtures, by name
