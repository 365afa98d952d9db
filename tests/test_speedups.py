"""The optional C core (tfrecord_lite/format/_speedups.c) against the pure-Python reference it
mirrors: the same CRCs, the same framed bytes, the same records and the same errors (type,
offset, message) on random, damaged, cut and forged streams, for any read size; and the
switch between the two paths (``TFRECORD_LITE_PURE``, ``--version``)."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import os
import random
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from test_records_walk import _corrupt
from test_records_walk import walk as read_all

from tfrecord_lite.format import records
from tfrecord_lite.format._accel import ext
from tfrecord_lite.format.crc import crc32c, masked_crc

needs_c = pytest.mark.skipif(ext is None, reason="the C speedups are not in use")
BUILT = importlib.util.find_spec("tfrecord_lite.format._speedups") is not None


def _speedups_in(env_pure: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TFRECORD_LITE_PURE"}
    if env_pure is not None:
        env["TFRECORD_LITE_PURE"] = env_pure
    code = (
        "import tfrecord_lite, tfrecord_lite.format.records as r; s = tfrecord_lite.speedups; "
        "print(s.compiled, r._walk is not None, r._frame_small is not r._frame_small_py)"
    )
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_tfrecord_lite_pure_forces_the_pure_path() -> None:
    assert _speedups_in("1") == "False False False"


def test_the_extension_is_used_when_built() -> None:
    assert _speedups_in(None) == ("True True True" if BUILT else "False False False")
    assert _speedups_in("0") == _speedups_in(None)


def test_version_says_which_path_runs() -> None:
    exe = [sys.executable, "-m", "tfrecord_lite", "--version"]
    env = dict(os.environ, TFRECORD_LITE_PURE="1")
    out = subprocess.run(exe, env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("(pure Python, TFRECORD_LITE_PURE is set)")
    env.pop("TFRECORD_LITE_PURE")
    out = subprocess.run(exe, env=env, capture_output=True, text=True, check=True).stdout
    assert ("(C speedups, " in out) == BUILT


@contextlib.contextmanager
def pure() -> Iterator[None]:
    """The pure-Python reader and writer framing, for the duration (no fixture: hypothesis)."""
    saved = records._walk, records._frame_small
    records._walk, records._frame_small = None, records._frame_small_py
    try:
        yield
    finally:
        records._walk, records._frame_small = saved


@needs_c
@pytest.mark.parametrize("impl", ["crc32c", "crc32c_table", "crc32c_sse42"])
def test_crc32c_is_the_reference_for_every_length_and_alignment(impl: str) -> None:
    if not hasattr(ext, impl) or (impl == "crc32c_sse42" and ext.CRC_KIND == "table"):
        pytest.skip(f"{impl} is not on this CPU")
    fn = getattr(ext, impl)
    rng = random.Random(1)
    data = rng.randbytes(20_000)
    # every tail length, both sides of the three-block steps (3 x 256 and 3 x 2048 bytes) and
    # of the carry-less multiply's (its first 256 bytes, then 256 a step)
    for n in [*range(70), 255, 256, 257, 271, 511, 512, 513, 767, 768, 769, 1543, 6143, 6144,
              6145, 6144 + 768 + 7, 10_000, 19_990]:
        for at in range(0, 9):
            piece = data[at : at + n]
            assert fn(piece) == crc32c(piece), (n, at)
            split = n // 3
            assert fn(piece[split:], fn(piece[:split])) == crc32c(piece)
    assert ext.masked_crc(data) == masked_crc(data)
    assert ext.masked_crc(memoryview(data)[5:]) == masked_crc(data[5:])
    big = rng.randbytes(200_000)  # taken without the GIL
    assert ext.masked_crc(big) == masked_crc(big)


@needs_c
@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=1023), min_size=1, max_size=300))
def test_c_framing_is_the_reference(batch: list[bytes]) -> None:
    assert ext.frame(batch) == records._frame_small_py(batch)
    assert ext.frame([bytearray(r) for r in batch]) == ext.frame(tuple(batch))


@needs_c
def test_c_framing_of_large_records_and_bad_input() -> None:
    big = [os.urandom(70_000), b"", os.urandom(1500)]
    want = b"".join(records._frame_small_py([r]) if len(r) < 1024 else
                    records._head(len(r)) + r + struct.pack("<I", masked_crc(r)) for r in big)
    assert ext.frame(big) == want
    assert ext.frame([]) == b""
    with pytest.raises(TypeError):
        ext.frame([b"ok", "text"])
    with pytest.raises(TypeError):
        ext.frame(5)


def both(data: bytes, verify: bool, chunk: int) -> None:
    """The C and the pure reader give the same records, then the same error."""
    got, error = read_all(data, verify, chunk)
    with pure():
        want, expected = read_all(data, verify, chunk)
    assert got == want
    assert type(error) is type(expected)
    if expected is not None:
        assert (str(error), error.offset) == (str(expected), expected.offset)


@needs_c
@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.integers(0, 3000), max_size=120),
    st.sampled_from(["none", "flip", "cut", "forge"]),
    st.sampled_from([1, 7, 12, 15, 16, 100, 4096, 1 << 20]),
    st.booleans(),
    st.integers(0, 1 << 30),
)
def test_c_reader_is_the_reference(sizes, how, chunk, verify, seed) -> None:
    rng = random.Random(seed)
    recs = [rng.randbytes(n) if rng.random() < 0.5 else bytes(n % 7) * n for n in sizes]
    with pure():
        data = _corrupt(_write(recs), rng, how)
    both(data, verify, chunk)


@needs_c
@pytest.mark.parametrize("chunk", [13, 1000, 1 << 20])
def test_c_reader_on_every_bit_flip(chunk: int) -> None:
    rng = random.Random(chunk)
    data = _write([rng.randbytes(rng.randrange(0, 40)) for _ in range(30)] + [b"x" * 1500])
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 1 << (i % 8)
        both(bytes(bad), True, chunk)


@needs_c
def test_c_walk_allocates_nothing_for_a_forged_length() -> None:
    header = struct.pack("<Q", 1 << 62)
    data = header + struct.pack("<I", masked_crc(header)) + b"\x00" * 100
    assert ext.walk(data, 0, True) == ([], 0, False)
    assert ext.walk(data, 0, False) == ([], 0, False)
    with pytest.raises(ValueError):
        ext.walk(data, len(data) + 1, True)
    good = _write([b"abc", b"de"])
    assert ext.walk(good + data, 0, True) == ([b"abc", b"de"], len(good), False)
    assert ext.walk(good, 19, True) == ([b"de"], len(good), False)


@needs_c
@pytest.mark.parametrize("kind", ["", "GZIP", "ZLIB"])
def test_files_read_the_same_both_ways(tmp_path, kind: str) -> None:
    rng = random.Random(7)
    recs = [rng.randbytes(rng.choice([0, 10, 100, 1000, 10_000, 100_000])) for _ in range(300)]
    path = tmp_path / "f.tfrecord"
    with records.TFRecordWriter(path, kind or None) as w:
        w.write_many(recs[:100])
        for r in recs[100:]:
            w.write(r)
    with pure():
        other = tmp_path / "g.tfrecord"
        with records.TFRecordWriter(other, kind or None) as w:
            w.write_many(recs[:100])
            for r in recs[100:]:
                w.write(r)
        want = list(records.tf_record_iterator(path, kind or None))
    assert path.read_bytes() == other.read_bytes()
    assert want == recs
    assert list(records.tf_record_iterator(path, kind or None)) == recs


def _write(recs: list[bytes]) -> bytes:
    buf = io.BytesIO()
    with records.TFRecordWriter(buf) as w:
        for r in recs:
            w.write(r)
    return buf.getvalue()


# -- the Example decoder ------------------------------------------------------------------------


def _plain_py(data: bytes) -> dict | None:
    """The pure decoder's answer as decode_example takes it: an exception means None."""
    from tfrecord_lite.format.example import _decode_plain_py

    try:
        return _decode_plain_py(data)
    except (IndexError, ValueError, struct.error):
        return None


def _exact(decoded: dict | None) -> object:
    """Everything about a decoded Example, floats by their bits (NaN payloads, -0.0)."""
    if decoded is None:
        return None
    return [(k, type(v).__name__, [struct.pack("<d", x) if isinstance(x, float) else x
                                   for x in v]) for k, v in decoded.items()]


def same_decoding(data: bytes) -> None:
    assert _exact(ext.decode_plain(data)) == _exact(_plain_py(data))


_FEATURE = st.one_of(
    st.binary(max_size=200),
    st.lists(st.binary(max_size=20), max_size=5),
    st.integers(-(1 << 63), (1 << 63) - 1),
    st.lists(st.integers(-(1 << 63), (1 << 63) - 1), max_size=30),
    st.lists(st.integers(0, 127), max_size=30),
    st.lists(st.floats(width=32), max_size=30),
    st.just([]),
)


@needs_c
@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), _FEATURE, max_size=8), st.data())
def test_c_decoder_is_the_reference(features, data) -> None:
    from tfrecord_lite.format.example import FloatValues, encode_example

    features = {k: FloatValues(v) if isinstance(v, list) and v and isinstance(v[0], float)
                else v for k, v in features.items()}
    raw = encode_example(features)
    same_decoding(raw)
    same_decoding(raw + raw)  # two Features fields, merged
    for _ in range(4):
        bad = bytearray(raw)
        how = data.draw(st.sampled_from(["set", "cut", "insert"]))
        at = data.draw(st.integers(0, len(bad)))
        if how == "set" and bad:
            bad[min(at, len(bad) - 1)] = data.draw(st.integers(0, 255))
        elif how == "cut":
            del bad[at:]
        else:
            bad[at:at] = data.draw(st.binary(min_size=1, max_size=12))
        same_decoding(bytes(bad))


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_c_decoder_on_arbitrary_bytes(data: bytes) -> None:
    same_decoding(data)
    same_decoding(b"\x0a" + bytes([len(data)]) + data if len(data) < 128 else data)


@needs_c
def test_c_decoder_edge_cases() -> None:
    def entry(key: bytes, feature: bytes) -> bytes:
        body = b"\x0a" + bytes([len(key)]) + key + b"\x12" + bytes([len(feature)]) + feature
        inner = b"\x0a" + bytes([len(body)]) + body
        return b"\x0a" + bytes([len(inner)]) + inner

    nan = struct.pack("<I", 0x7FA00001)  # a signalling NaN with a payload
    cases = [
        b"",
        entry(b"k", b""),  # a feature with no kind: a plain []
        entry(b"\xed\xa0\x80", b""),  # a surrogate in UTF-8: not a key
        entry(b"\xff", b""),
        entry(b"k", b"\x12\x06\x0a\x04" + nan),
        entry(b"k", b"\x12\x05\x0a\x03abc"),  # a float list not of whole floats
        entry(b"k", b"\x1a\x0c\x0a\x0a" + b"\xff" * 9 + b"\x01"),  # -1 as ten bytes
        entry(b"k", b"\x1a\x0c\x0a\x0a" + b"\xff" * 10),  # a varint that never ends
        entry(b"k", b"\x1a\x03\x0a\x01\x80"),  # cut inside a varint
        entry(b"k", b"\x0a\x04\x0a\x05ab"),  # a bytes value past its list
        entry(b"k", b"\x22\x00"),  # an unknown kind
        b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # a length of 2**64 - 1
        b"\x0a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",  # a varint over ten bytes
    ]
    for data in cases:
        same_decoding(data)
    assert ext.decode_plain(cases[1]) == {"k": []}
    assert type(ext.decode_plain(cases[1])["k"]) is list
    with pytest.raises(TypeError):
        ext.decode_plain(bytearray(cases[1]))


# -- the Example encoder ------------------------------------------------------------------------


@contextlib.contextmanager
def pure_encoder() -> Iterator[None]:
    """The pure-Python encoders alone, for the duration (no fixture: hypothesis)."""
    from tfrecord_lite.format import example

    saved = example._encode_plain, example._encode_sequence_plain
    example._encode_plain = example._encode_sequence_plain = None
    try:
        yield
    finally:
        example._encode_plain, example._encode_sequence_plain = saved


def _outcome(fn, *args) -> tuple[str, object]:
    """What a call gives: its bytes, or its error's type and message."""
    try:
        return "bytes", fn(*args)
    except Exception as exc:  # the error is what is compared
        return type(exc).__name__, str(exc)


def same_encoding(fn, *args) -> tuple[str, object]:
    """The C and the pure encoder give the same bytes, or raise the same error."""
    got = _outcome(fn, *args)
    with pure_encoder():
        want = _outcome(fn, *args)
    assert got == want
    return got


_INT64 = st.integers(-(1 << 63), (1 << 63) - 1)
_ANY_INT = st.one_of(_INT64, st.integers(-(1 << 70), 1 << 70), st.integers(0, 300), st.booleans())
_ANY_FLOAT = st.one_of(
    st.floats(),  # NaN, inf, past float32's range
    st.floats(width=32),
    st.sampled_from([3.4028234663852886e38, 3.4028235e38, -3.4028235e38, 3.5e38, -0.0, 1e-46,
                     float("nan"), struct.unpack("<d", struct.pack("<Q", 0x7FF4000000000001))[0]]),
)
_TEXT = st.text(max_size=12)  # unicode, and (below) lone surrogates, which are not UTF-8
_SCALAR = st.one_of(st.binary(max_size=300), _TEXT, _ANY_INT, _ANY_FLOAT, st.just("\ud800"))


def _typed(kind: str):
    from tfrecord_lite.format.example import BytesValues, FloatValues, IntValues

    return {"bytes": BytesValues, "float": FloatValues, "int": IntValues}[kind]


_VALUE = st.one_of(
    _SCALAR,
    st.lists(st.binary(max_size=40), max_size=6),
    st.lists(st.one_of(st.binary(max_size=10), _TEXT), max_size=6).map(tuple),
    st.lists(_ANY_INT, max_size=20),
    st.lists(st.integers(0, 127), max_size=20),
    st.lists(_ANY_FLOAT, max_size=20),
    st.lists(_SCALAR, max_size=5),  # mixed kinds: the pure encoder's errors
    st.tuples(st.sampled_from(["bytes", "float", "int"]), st.lists(_SCALAR, max_size=6)).map(
        lambda kv: _typed(kv[0])(kv[1])
    ),
    st.tuples(st.sampled_from(["float", "int"]), st.lists(_ANY_INT, max_size=6)).map(
        lambda kv: _typed(kv[0])(kv[1])
    ),
    st.sampled_from([[], (), bytearray(b"ab"), memoryview(b"cd"), None, {"a": 1}, [[1]]]),
)
# short keys of few letters: many are prefixes of others (protobuf's map order puts them after)
_KEY = st.one_of(st.text(alphabet="ab_\u00e9\u732b", max_size=4), _TEXT, st.just("\udc80"))


@needs_c
@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_KEY, _VALUE, max_size=8))
def test_c_encoder_is_the_reference(features) -> None:
    from tfrecord_lite.format.example import encode_example

    same_encoding(encode_example, features)


@needs_c
@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.none(), st.dictionaries(_KEY, _VALUE, max_size=4)),
    st.one_of(st.none(), st.dictionaries(_KEY, st.one_of(st.lists(_VALUE, max_size=4), _VALUE),
                                         max_size=4)),
)
def test_c_sequence_encoder_is_the_reference(context, feature_lists) -> None:
    from tfrecord_lite.format.example import encode_sequence_example

    same_encoding(encode_sequence_example, context, feature_lists)


@needs_c
def test_c_encoder_takes_the_plain_values_itself() -> None:
    """Plain values are encoded in C (not all handed back), the unusual ones handed back."""
    from tfrecord_lite.format.example import BytesValues, FloatValues, IntValues, encode_example

    plain = {
        "image": os.urandom(70_000), "image_name": "caf\u00e9 \u732b.jpg", "width": 640,
        "flag": True, "objects": [0, 3, -1, (1 << 63) - 1, -(1 << 63)], "small": [1, 2, 127],
        "bboxes": [0.5, float("nan"), float("inf"), -0.0, 3.4028234663852886e38],
        "texts": ("a", b"b"), "empty": [], "typed_bytes": BytesValues(),
        "typed_floats": FloatValues([1, True, 2.5]), "typed_ints": IntValues(),
        "image/height": 480, "imag": b"", "\U0001f600": 1.5,
    }
    assert ext.encode_example(plain) is not None
    assert same_encoding(encode_example, plain) == ("bytes", ext.encode_example(plain))
    assert ext.encode_example({}) == encode_example({}) == b"\x0a\x00"
    assert ext.encode_sequence_example(None, None) == b""
    steps = {"frames": [b"a", [1, 2], FloatValues(), []], "none": []}
    assert ext.encode_sequence_example({"id": 1}, steps) is not None
    for unusual in ({"x": 1 << 63}, {"x": 3.5e38}, {"x": 3.4028235e38}, {"x": "\ud800"},
                    {"\ud800": 1}, {1: 2}, {"x": bytearray(b"a")}, {"x": [1, 2.5]},
                    {"x": FloatValues([1 << 1100])}, {"x": [b"a", 1]}, {"x": None}):
        assert ext.encode_example(unusual) is None, unusual
        kind, _ = same_encoding(encode_example, unusual)
        assert kind in ("bytes", "ExampleError"), unusual  # never a raw Python error
    assert ext.encode_example([("x", 1)]) is None
    assert ext.encode_sequence_example({"x": 1}, {"y": b"not a list"}) is None


@needs_c
def test_c_encoder_of_long_values_and_lists() -> None:
    """Lengths of every varint width: 127/128 bytes, 16 KiB, 2 MiB, a list of 100,000 ints."""
    from tfrecord_lite.format.example import FloatValues, encode_example

    for n in (0, 1, 127, 128, 16_383, 16_384, (1 << 21) - 1, 1 << 21, 3_000_000):
        same_encoding(encode_example, {"b": b"\x01" * n, "name": "x" * (n % 1000)})
    rng = random.Random(3)
    same_encoding(encode_example, {"i": [rng.randrange(-(1 << 63), 1 << 63)
                                         for _ in range(100_000)]})
    same_encoding(encode_example, {"f": FloatValues(rng.random() for _ in range(50_000))})
    same_encoding(encode_example, {f"k{i}": i for i in range(3000)})  # many entries


def _convert(manifest: Path, out: Path, fmt: str, pure_path: bool) -> dict[str, bytes]:
    """Every file of a conversion by the command line, on one path, by its relative name."""
    env = {k: v for k, v in os.environ.items() if k != "TFRECORD_LITE_PURE"}
    if pure_path:
        env["TFRECORD_LITE_PURE"] = "1"
    cmd = [sys.executable, "-m", "tfrecord_lite", "convert", "-a", str(manifest), "-o", str(out),
           "-f", fmt, "--split", "0.3", "--partition", "2", "--workers", "1", "-q"]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    shutil.rmtree(out)  # the next run writes the same folder: dataset_info.yaml names it
    return files


@pytest.mark.parametrize("fmt", ["tfrecord", "tfod"])
def test_a_conversion_is_the_same_bytes_on_both_paths(tmp_path, fmt: str) -> None:
    """The converter's datasets, byte for byte, with the C core and with TFRECORD_LITE_PURE=1
    (boxless images, unicode names, a PNG and many boxes among them)."""
    from gt_helpers import det_line, make_image, write_manifest

    rng = random.Random(11)
    lines = []
    for i, name in enumerate(["a.jpg", "caf\u00e9 \u732b.jpg", "empty.jpg", "p.png", "m.jpg",
                              *(f"x{k}.jpg" for k in range(6))]):
        width, height = rng.randint(8, 90), rng.randint(8, 90)
        make_image(tmp_path / "job" / "images" / name, width, height, (i * 20, 90, 160))
        boxes = [] if name == "empty.jpg" else [
            (rng.randrange(3), rng.randint(0, width // 2), rng.randint(0, height // 2),
             rng.randint(1, width // 2), rng.randint(1, height // 2))
            for _ in range(40 if name == "m.jpg" else rng.randint(1, 4))]
        classes = {0: "cat", 1: "dog", 2: "\u732b"}
        lines.append(det_line(f"s3://bucket/images/{name}", boxes, classes, (width, height)))
    manifest = write_manifest(tmp_path / "job" / "output.manifest", lines)
    with_c = _convert(manifest, tmp_path / "out", fmt, pure_path=False)
    assert any(name.endswith(".tfrecord") for name in with_c)
    assert with_c == _convert(manifest, tmp_path / "out", fmt, pure_path=True)


# --- the image header scan: _speedups.scan_image against headers.sniff + images._check_end ----


def _png(mode: str, size=(19, 7), text: int = 0, transparency=None) -> bytes:
    out = io.BytesIO()
    kwargs = {} if transparency is None else {"transparency": transparency}
    Image.new(mode, size).save(out, "PNG", **kwargs)
    data = out.getvalue()
    if text:  # a tEXt chunk before IDAT, its length given (may pass the 8 KiB read)
        body = b"k\x00" + b"v" * text
        chunk = struct.pack(">I", len(body)) + b"tEXt" + body + b"\x00\x00\x00\x00"
        data = data[:33] + chunk + data[33:]
    return data


def _segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


@functools.cache
def _scan_cases() -> list[bytes]:
    """Files the scan must read as sniff does: every branch of the marker walk and the PNG chunk
    walk, segments across the 8 KiB read, refills, EXIF in both byte orders and broken, MPF,
    12-bit and CMYK frames, files cut at the marker and short of their end, non-images."""
    from test_groundtruth_headers import _jpeg

    plain = _jpeg()
    exif6 = _jpeg(orientation=6)
    body = plain[2:]
    app = _segment(0xE0, b"JFIF\x00" + b"\x00" * 9)
    tiff_le = (b"Exif\x00\x00II*\x00" + struct.pack("<IH", 8, 1)
               + struct.pack("<HHIHH", 0x0112, 3, 1, 7, 0))
    cases = [
        plain, exif6, _jpeg(orientation=3, progressive=True), _jpeg(orientation=8, big_endian=True),
        _jpeg((640, 480), orientation=5, pad=2), _jpeg(orientation=1), _jpeg(orientation=0),
        _jpeg(orientation=9),
        b"\xff\xd8" + b"\xff" * 5 + body,  # fill bytes
        b"\xff\xd8\xff\x01\xff\xd3" + body,  # standalone markers
        b"\xff\xd8" + _segment(0xE1, b"Exif\x00\x00XX*\x00") + body,  # unknown TIFF order
        b"\xff\xd8" + _segment(0xE1, b"Exif\x00\x00II*\x00\x08") + body,  # IFD offset cut
        b"\xff\xd8" + _segment(0xE1, tiff_le.replace(b"\x03\x00\x01", b"\x04\x00\x01")) + body,
        b"\xff\xd8" + _segment(0xE1, tiff_le[:-4]) + body,  # value cut
        b"\xff\xd8" + _segment(0xE1, tiff_le) + _segment(0xE1, tiff_le.replace(b"\x07", b"\x05"))
        + body,  # the second EXIF block is not read once one rotates
        b"\xff\xd8" + _segment(0xE1, b"Exif\x00\x00II*\x00" + struct.pack("<IH", 8, 0)) + body,
        b"\xff\xd8" + _segment(0xE1, b"XMP stuff") + body,
        b"\xff\xd8" + _segment(0xE2, b"MPF\x00" + b"\x00" * 8) + body,
        b"\xff\xd8\xff\xe2\x00\x04",  # APP2 cut before its kind
        b"\xff\xd8" + _segment(0xE2, b"ICC_PROFILE\x00" + b"\x00" * 20) + body,
        b"\xff\xd8\xff\xc0\x00\x01" + body,  # a length below 2
        b"\xff\xd8" + _segment(0xC0, b"\x0c\x00\x10\x00\x10\x03"),  # 12-bit
        b"\xff\xd8" + _segment(0xC0, b"\x08\x00\x10\x00\x20\x04"),  # CMYK
        b"\xff\xd8" + _segment(0xC0, b"\x08\x00\x10\x00\x20\x02"),  # two components
        b"\xff\xd8" + _segment(0xC0, b"\x08\x00\x10\x00\x20"),  # no component count
        b"\xff\xd8" + _segment(0xC0, b"\x08\x00\x10"),  # too short
        b"\xff\xd8" + _segment(0xC4, b"\x00" * 20) + _segment(0xC2, b"\x08\x00\x05\x00\x06\x01"),
        b"\xff\xd8\xff\xd9", b"\xff\xd8\xff\xda\x00\x02", b"\xff\xd8\x00\x00", b"\xff\xd8\xff",
        b"\xff\xd8", b"", b"GIF89a" + b"\x00" * 30, b"\x89PNG\r\n\x1a\n\x00\x00",
        *(plain + b"\x00" * n for n in (500, 1021, 1022, 1023, 1100)),  # after the end marker
        _png("L"), _png("RGB"), _png("RGBA"), _png("LA"), _png("P"), _png("I;16"), _png("1"),
        _png("P", transparency=0), _png("RGB", transparency=(1, 2, 3)), _png("L", text=100),
        _png("RGB", text=9000),  # the tEXt chunk runs past the first read: sniff gives up
        _png("RGB")[:-12],  # no IEND
    ]
    for fill in (8180, 8185, 8188, 8190, 8191, 8192, 8194):  # a marker across the first read
        pad = fill - len(app) - 2 - 4
        cases.append(b"\xff\xd8" + app + _segment(0xFE, b"c" * pad) + exif6[2:])
    cases.append(b"\xff\xd8" + _segment(0xFE, b"c" * 65000) + _segment(0xFE, b"d" * 9000) + body)
    cases.append(b"\xff\xd8" + _segment(0xFE, b"c" * 8100) + _segment(0xE1, b"Exif\x00\x00" +
                 exif6[exif6.index(b"Exif") + 6: exif6.index(b"Exif") + 200]) + body)
    cases += [exif6[:n] for n in (3, 4, 6, 20, 40, len(exif6) // 2, len(exif6) - 1)]
    return cases


def _scan_py(path: Path, tail: int, max_pixels: int) -> tuple | None:
    """What scan_image must give, by the pure path's own functions."""
    from tfrecord_lite.pipeline.groundtruth import images
    from tfrecord_lite.pipeline.groundtruth.headers import sniff

    fd = os.open(path, os.O_RDONLY)
    try:
        handle = images._Positioned(fd)
        size = os.fstat(fd).st_size
        found = sniff(handle)
        if found is None:
            return None
        ends = None
        if max_pixels > 0 and found.width * found.height <= max_pixels:
            handle.seek(max(0, size - tail))
            ends = images._ENDS[found.format] in handle.read(tail)
        return (*found, size, ends)
    finally:
        os.close(fd)


def _header_outcome(path: Path, checks) -> object:
    from tfrecord_lite.pipeline.errors import InputError
    from tfrecord_lite.pipeline.groundtruth.images import read_header

    try:
        return read_header(str(path), "s3://b/x", checks)
    except InputError as exc:
        return type(exc), str(exc), exc.reason


@needs_c
def test_c_header_scan_is_sniff_and_the_end_check(tmp_path) -> None:
    from tfrecord_lite.pipeline.groundtruth import images

    for i, data in enumerate(_scan_cases()):
        path = tmp_path / f"{i}.img"
        path.write_bytes(data)
        for tail, max_pixels in ((1024, 10**9), (1024, 0), (1024, 50), (3, 10**9), (0, 1)):
            assert ext.scan_image(str(path), tail, max_pixels) == \
                _scan_py(path, tail, max_pixels), (i, data[:40], tail, max_pixels)
        assert ext.scan_image(path, 1024, 1) == ext.scan_image(os.fsencode(path), 1024, 1)
        for checks in (images.ImageChecks(), images.ImageChecks(max_pixels=0),
                       images.ImageChecks(max_pixels=400)):
            with_c = _header_outcome(path, checks)
            saved, images._scan = images._scan, None
            try:
                assert with_c == _header_outcome(path, checks), (i, data[:40], checks)
            finally:
                images._scan = saved


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.integers(0, 30), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                   max_size=6), st.integers(0, 10**6))
def test_c_header_scan_on_damaged_files(tmp_path_factory, which, flips, cut) -> None:
    """Any file: the scan gives what sniff and the end check give (bytes flipped, files cut)."""
    cases = _scan_cases()
    data = bytearray(cases[which % len(cases)])
    for at, value in flips:
        if data:
            data[at % len(data)] = value
    data = bytes(data[: len(data) - cut % (len(data) + 1)]) if cut % 3 == 0 else bytes(data)
    path = tmp_path_factory.mktemp("scan") / "x"
    path.write_bytes(data)
    assert ext.scan_image(str(path), 1024, 10**9) == _scan_py(path, 1024, 10**9)


@needs_c
def test_c_header_scan_errors_are_the_pure_paths(tmp_path) -> None:
    with pytest.raises(FileNotFoundError) as missing:
        ext.scan_image(str(tmp_path / "gone.jpg"), 1024, 1)
    with pytest.raises(FileNotFoundError) as pure_missing:
        os.open(tmp_path / "gone.jpg", os.O_RDONLY)
    assert str(missing.value) == str(pure_missing.value)
    assert missing.value.filename == str(tmp_path / "gone.jpg")
    with pytest.raises(IsADirectoryError) as folder:
        ext.scan_image(str(tmp_path), 1024, 1)
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        with pytest.raises(IsADirectoryError) as pure_folder:
            os.pread(fd, 10, 0)
    finally:
        os.close(fd)
    assert str(folder.value) == str(pure_folder.value)
    for bad in ((str(tmp_path), -1, 1), (str(tmp_path), 8193, 1), ("a\x00b", 10, 1)):
        with pytest.raises(ValueError):
            ext.scan_image(*bad)
