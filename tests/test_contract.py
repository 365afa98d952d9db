"""verify checks ModelPack's contract per format, naming the rule each problem breaks: the
yaml's keys, both splits non-empty, images decoding to 3 channels, boxes and ids in range."""

from __future__ import annotations

import io

import yaml
from dataset_helpers import default_items, jpeg, record, write_modelpack
from PIL import Image
from test_convert import make_job, run
from test_verify import verify

from tfrecord_lite.format.shards import ShardedWriter


def _edit_info(root, change) -> None:
    path = root / "dataset_info.yaml"
    info = yaml.safe_load(path.read_text())
    change(info)
    path.write_text(yaml.safe_dump(info, sort_keys=False))


def test_yaml_rules(tmp_path, capsys) -> None:
    root = write_modelpack(tmp_path / "ds")
    assert verify(capsys, root)[0] == 0

    def damage(info) -> None:
        del info["type"]
        del info["train"]["path"]
        info["classes"] = ["background", *info["classes"]]

    _edit_info(root, damage)
    code, out = verify(capsys, root)
    assert code == 1
    assert "type is None, not 'tfrecord': ModelPack picks its reader by this key" in out
    assert "train has no path: the ModelPack tfrecord reader reads them" in out
    assert "classes has a background entry: ModelPack adds background itself" in out


def test_an_empty_split_breaks_the_rule(tmp_path, capsys) -> None:
    root = write_modelpack(tmp_path / "ds", {"train": default_items(4), "validation": []})
    code, out = verify(capsys, root)
    assert code == 1
    assert "split 'validation' has no samples: ModelPack refuses empty train or validation" in out
    root = write_modelpack(tmp_path / "ds2", {"train": default_items(4)})
    code, out = verify(capsys, root)
    assert code == 1 and "no 'validation' split: ModelPack refuses" in out


def test_a_grey_image_in_a_record_is_found(tmp_path, capsys) -> None:
    root = write_modelpack(tmp_path / "ds")
    grey = io.BytesIO()
    Image.open(io.BytesIO(jpeg(64, 48))).convert("L").save(grey, "JPEG")
    folder = root / "tfrecord_val"
    for shard in folder.iterdir():
        shard.unlink()
    with ShardedWriter(folder, "val", 1 << 20) as writer:
        for item in default_items(3, "val", 10):
            writer.write(record(item, grey.getvalue()))
    code, out = verify(capsys, root)
    assert code == 1
    assert out.count("image is grey: ModelPack decodes images with tf.io.decode_jpeg") == 3


def test_darknet_problems(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert run("-a", make_job(tmp_path / "job", 8), "-o", out, "-q", "-f", "darknet") == 0
    capsys.readouterr()
    assert verify(capsys, out)[0] == 0
    folder = out / "darknet_train"
    images = sorted(folder.glob("*.jpg"))
    images[0].with_suffix(".txt").unlink()
    images[1].with_suffix(".txt").write_text("0 0.5 0.5 1.5 0.1\n7 0.5 0.5 0.1 0.1\nx y\n")
    Image.new("L", (96, 64)).save(images[2])  # grey
    Image.new("RGB", (96, 64)).save(folder / f"{images[3].stem}.png")  # a second image, one stem
    code, text = verify(capsys, out)
    assert code == 1
    assert f"{images[0]}: no label file {images[0].stem}.txt" in text
    label = images[1].with_suffix(".txt")
    assert f"{label}: line 1: box value 1.5 is outside [0, 1]" in text
    assert f"{label}: line 2: box class 7 is not an index into classes [0, 3)" in text
    assert f"{label}: line 3: 'x y' is not 'class cx cy w h'" in text
    assert f"{images[2]}: image is grey" in text
    assert f"stem {images[3].stem!r} also names" in text


def test_json_yaml_needs_no_type_but_both_keys(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert run("-a", make_job(tmp_path / "job", 6), "-o", out, "-q", "-f", "json") == 0
    capsys.readouterr()
    assert verify(capsys, out)[0] == 0
    _edit_info(out, lambda info: info["validation"].pop("annotations"))
    code, text = verify(capsys, out)
    assert code == 1 and "validation has no annotations: the ModelPack json reader" in text
