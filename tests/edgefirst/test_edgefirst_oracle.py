"""Au-Zone's edgefirst-client and pycocotools read what -f coco and -f edgefirst write
(run by `make edgefirst` in .venv-edgefirst; both are test-only oracles)."""

from __future__ import annotations

import sys
from pathlib import Path

import edgefirst_client
import polars as pl
from pycocotools.coco import COCO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the unit suite's job makers

from test_coco_format import boxes_job  # noqa: E402

from tfrecord_lite.cli import main  # noqa: E402


def convert(manifest: Path, out: Path, fmt: str, *extra: str) -> int:
    # -s 0.5: the fixed hash split of these twelve names uses both splits
    return main(["convert", "-a", str(manifest), "-o", str(out), "-f", fmt, "-q", "-s", "0.5",
                 *extra])


def normalised(truth: dict[str, list[tuple]], sizes: dict[str, tuple[int, int]]) -> dict:
    out = {}
    for name, boxes in truth.items():
        w_img, h_img = sizes[name]
        out[name.rsplit(".", 1)[0]] = sorted(
            (cls, (x + w / 2) / w_img, (y + h / 2) / h_img, w / w_img, h / h_img)
            for cls, x, y, w, h in boxes)
    return out


def same_boxes(got: dict[str, list[tuple]], want: dict[str, list[tuple]]) -> bool:
    """Equal names and classes, coordinates within float32's precision."""
    if got.keys() != want.keys():
        return False
    for name in want:
        if len(got[name]) != len(want[name]):
            return False
        for g, w in zip(got[name], want[name]):
            if g[0] != w[0] or any(abs(a - b) > 1e-5 for a, b in zip(g[1:], w[1:])):
                return False
    return True


def rows_by_image(arrow: Path) -> tuple[dict[str, list[tuple]], dict[str, str]]:
    df = pl.read_ipc(arrow)
    boxes: dict[str, list[tuple]] = {}
    groups: dict[str, str] = {}
    for row in df.iter_rows(named=True):
        groups[row["name"]] = row["group"]
        boxes.setdefault(row["name"], [])
        if row["box2d"] is not None and row["label"] is not None:
            boxes[row["name"]].append((row["label"], *row["box2d"]))
    return {k: sorted(v) for k, v in boxes.items()}, groups


def test_pycocotools_loads_both_files_with_the_manifests_boxes(tmp_path: Path) -> None:
    manifest, truth = boxes_job(tmp_path / "job", 12)
    out = tmp_path / "o"
    assert convert(manifest, out, "coco") == 0
    seen = {}
    for split in ("train", "val"):
        coco = COCO(str(out / "annotations" / f"instances_{split}.json"))
        for image_id, image in coco.imgs.items():
            anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
            seen[image["file_name"]] = sorted(
                (coco.cats[a["category_id"]]["name"], *a["bbox"]) for a in anns)
    assert seen == {k: sorted(v) for k, v in truth.items()}


def test_coco_to_arrow_infers_the_groups_and_keeps_every_box(tmp_path: Path) -> None:
    manifest, truth = boxes_job(tmp_path / "job", 12)
    sizes = {f"img{i:02d}.jpg": (100 + i, 80) for i in range(12)}
    out = tmp_path / "o"
    assert convert(manifest, out, "coco") == 0
    arrow = tmp_path / "ef" / "set.arrow"
    edgefirst_client.coco_to_arrow(str(out), str(arrow), True, None, None, str(out))
    edgefirst_client.read_dataset_metadata(str(arrow))
    boxes, groups = rows_by_image(arrow)
    assert same_boxes(boxes, normalised(truth, sizes)), boxes
    coco_val = COCO(str(out / "annotations" / "instances_val.json"))
    val = {im["file_name"].rsplit(".", 1)[0] for im in coco_val.imgs.values()}
    assert {n for n, g in groups.items() if g == "val"} == val and val
    assert {n for n, g in groups.items() if g == "train"} == set(boxes) - val


def test_format_edgefirst_is_what_au_zones_tool_makes(tmp_path: Path) -> None:
    manifest, truth = boxes_job(tmp_path / "job", 12)
    sizes = {f"img{i:02d}.jpg": (100 + i, 80) for i in range(12)}
    out = tmp_path / "cards"
    assert convert(manifest, out, "edgefirst") == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".tfrecord-lite-files", "cards", "cards.arrow", "dataset_info.yaml"]
    edgefirst_client.read_dataset_metadata(str(out / "cards.arrow"))
    boxes, groups = rows_by_image(out / "cards.arrow")
    assert same_boxes(boxes, normalised(truth, sizes)), boxes
    assert set(groups.values()) == {"train", "val"}
    assert len(list((out / "cards").iterdir())) == 12
    assert convert(manifest, out, "edgefirst", "--overwrite") == 0
