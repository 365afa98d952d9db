"""Au-Zone's edgefirst-client and pycocotools read what -f coco and -f edgefirst write
(run by `make edgefirst` in .venv-edgefirst; both are test-only oracles)."""

from __future__ import annotations

import sys
from pathlib import Path

import edgefirst_client
import polars as pl
from pycocotools.coco import COCO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the unit suite's job makers

from test_coco_format import boxes_job

from tfrecord_lite.tools.cli import main


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
    assert main(["verify", str(out)]) == 0
    (out / "cards.arrow").write_bytes(b"not arrow")
    assert main(["verify", str(out)]) == 1


def segmentation_job(root: Path, count: int = 4) -> tuple[Path, dict[str, object]]:
    """Semantic-segmentation lines with generated masks (tests/mask_cases.py: blobs, roads,
    holes, border regions, specks) as palette PNGs; returns file stem -> mask (class keys)."""
    from gt_helpers import make_image, seg_line, write_manifest
    from mask_cases import realistic_mask

    colors = {0: ("BACKGROUND", "#ffffff"), 1: ("road", "#1f77b4"), 2: ("car", "#ff7f0e"),
              3: ("tree", "#2ca02c"), 4: ("sign", "#d62728")}
    palette = []
    for k in range(256):
        hexcolor = colors.get(k, ("", "#000000"))[1]
        palette += [int(hexcolor[i : i + 2], 16) for i in (1, 3, 5)]
    masks, lines = {}, []
    for i in range(count):
        name = f"scene{i}"
        make_image(root / "images" / f"{name}.jpg", 160, 120)
        mask = realistic_mask(160, 120, seed=i)
        png = mask.convert("P")
        png.putpalette(palette)
        (root / "masks").mkdir(parents=True, exist_ok=True)
        png.save(root / "masks" / f"{name}.png")
        masks[name] = mask
        lines.append(seg_line(f"s3://b/images/{name}.jpg", f"s3://b/masks/{name}.png", colors))
    return write_manifest(root / "output.manifest", lines), masks


def _coco_iou(coco: COCO, masks: dict) -> list[float]:
    """IoU of each class's COCO polygons, rasterised by pycocotools, against the source mask."""
    import numpy as np

    names = {c["id"]: c["name"] for c in coco.cats.values()}
    keys = {"road": 1, "car": 2, "tree": 3, "sign": 4}
    out = []
    for image_id, image in coco.imgs.items():
        source = np.array(masks[image["file_name"].rsplit(".", 1)[0]])
        union: dict[int, np.ndarray] = {}
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=[image_id])):
            key = keys[names[ann["category_id"]]]
            drawn = coco.annToMask(ann).astype(bool)
            union[key] = union.get(key, np.zeros_like(drawn)) | drawn
        for key in keys.values():
            truth = source == key
            if not truth.any():
                continue
            got = union.get(key, np.zeros_like(truth))
            out.append((got & truth).sum() / (got | truth).sum())
    return out


def test_segmentation_polygons_survive_coco_and_the_arrow_round_trip(tmp_path: Path) -> None:
    manifest, masks = segmentation_job(tmp_path / "job")
    out = tmp_path / "o"
    assert convert(manifest, out, "coco") == 0
    ious = []
    for split in ("train", "val"):
        ious += _coco_iou(COCO(str(out / "annotations" / f"instances_{split}.json")), masks)
    assert ious and min(ious) >= 0.97, ious
    ef = tmp_path / "scenes"
    assert convert(manifest, ef, "edgefirst") == 0
    back = tmp_path / "back.json"
    edgefirst_client.arrow_to_coco(str(ef / "scenes.arrow"), str(back), True, [], None)
    round_trip = _coco_iou(COCO(str(back)), masks)
    assert round_trip and min(round_trip) >= 0.97, round_trip
