"""Our mask tracer against OpenCV's ``findContours`` (opencv-python-headless: a test-only
dependency of the compat venv): the same regions and holes per class, every vertex of ours a
pixel of the region on or beside one of OpenCV's boundary points (OpenCV cuts a concave corner
diagonally where we go round its pixel's centre), and both fillings giving the same pixels."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared mask cases
from mask_cases import filled, realistic_mask

from tfrecord_lite.pipeline.formats import polygons


def _opencv(plane: np.ndarray):
    contours, hierarchy = cv2.findContours(plane, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return [], 0, np.zeros_like(plane)
    parents = hierarchy[0][:, 3]
    fill = np.zeros_like(plane)
    cv2.fillPoly(fill, contours, 255)  # even-odd over outlines and holes, edges included
    return contours, int((parents != -1).sum()), fill


def _holes(plane: np.ndarray) -> int:
    """Holes (4-connected background inside a region) counted by OpenCV's labelling."""
    n, labels = cv2.connectedComponents((plane == 0).astype(np.uint8), connectivity=4)
    border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])))
    return len([k for k in range(1, n) if k not in border])


@pytest.mark.parametrize("seed,size", [(0, (320, 180)), (1, (320, 180)), (2, (640, 360)),
                                       (3, (1280, 720))])
def test_outlines_match_find_contours(seed, size) -> None:
    mask = realistic_mask(*size, seed)
    data = np.frombuffer(mask.tobytes(), np.uint8).reshape(size[1], size[0])
    exact = polygons.region_outlines(mask.tobytes(), *size, 0.0)
    simple = polygons.region_outlines(mask.tobytes(), *size)
    for value in sorted(set(np.unique(data)) - {0}):
        plane = (data == value).astype(np.uint8) * 255
        contours, holes, cv_fill = _opencv(plane)
        outers = len(contours) - holes
        ours = [p for v, p in exact if v == value]
        assert len(ours) == outers, (value, len(ours), outers)
        assert holes == _holes(plane)  # (RETR_CCOMP's holes: our cuts join each one)
        near = {(int(x) + dx, int(y) + dy) for c in contours for x, y in c.reshape(-1, 2)
                for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
        vertices = {(int(x), int(y)) for p in ours for x, y in p}
        assert all(x == int(x) and y == int(y) for p in ours for x, y in p)
        assert vertices <= near, sorted(vertices - near)[:5]
        assert all(data[y, x] == value for x, y in vertices)
        for outlines, least in ((exact, 1.0), (simple, 0.97)):
            mine = np.asarray(filled(outlines, size, value)) > 0
            theirs = cv_fill > 0
            agree = (mine & theirs).sum() / (mine | theirs).sum()
            assert agree >= least, (value, agree)
