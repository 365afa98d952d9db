"""Property tests (hypothesis) for the core: round trips and 'only typed errors' guarantees."""

from __future__ import annotations

import io
import math

from hypothesis import given, settings
from hypothesis import strategies as st
from test_records import write_records

from tfrecord_lite import (
    Example,
    ExampleError,
    RecordError,
    decode_example,
    encode_example,
    tf_record_iterator,
)

MODES = st.sampled_from([None, "GZIP", "ZLIB"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20), MODES, st.booleans())
def test_any_records_round_trip(records, mode, many) -> None:
    data = write_records(records, mode, many)
    assert list(tf_record_iterator(io.BytesIO(data), mode)) == records


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), MODES)
def test_reader_on_arbitrary_bytes_only_raises_record_errors(data, mode) -> None:
    try:
        for _ in tf_record_iterator(io.BytesIO(data), mode):
            pass
    except RecordError:
        pass


_scalar_lists = st.one_of(
    st.lists(st.binary(max_size=20), min_size=1, max_size=5),
    st.lists(st.text(max_size=10), min_size=1, max_size=5),
    st.lists(st.integers(-(1 << 63), (1 << 63) - 1), min_size=1, max_size=5),
    st.lists(st.floats(width=32), min_size=1, max_size=5),
)
_features = st.dictionaries(st.text(max_size=8), _scalar_lists, max_size=6)


def _norm(v):
    return [x.encode() if isinstance(x, str) else x for x in v]


def _same(a, b) -> bool:
    return len(a) == len(b) and all(
        x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)) for x, y in zip(a, b)
    )


@settings(max_examples=200, deadline=None)
@given(_features)
def test_any_mapping_round_trips_and_equals_protobuf_parse(features) -> None:
    data = encode_example(features)
    decoded = decode_example(data)
    assert set(decoded) == set(features)
    for key, values in features.items():
        assert _same(decoded[key], _norm(values))
    # protobuf's own parse of our bytes equals the message protobuf builds from the same values
    # (NaN != NaN, so compare the bytes of each feature instead of the messages themselves)
    parsed = Example.FromString(data)
    built = Example()
    for key, values in features.items():
        feature = built.features.feature[key]
        v = _norm(values)
        if isinstance(v[0], bytes):
            feature.bytes_list.value.extend(v)
        elif isinstance(v[0], float):
            feature.float_list.value.extend(v)
        else:
            feature.int64_list.value.extend(v)
    assert set(parsed.features.feature) == set(built.features.feature)
    for key in built.features.feature:
        assert (
            parsed.features.feature[key].SerializeToString()
            == built.features.feature[key].SerializeToString()
        )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=100))
def test_decoder_on_arbitrary_bytes_only_raises_example_error(data) -> None:
    try:
        decode_example(data)
    except ExampleError:
        pass
