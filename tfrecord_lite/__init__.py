"""tfrecord_lite: TFRecord files and tf.train.Example without TensorFlow.

Core API (needs only protobuf and crc32c; Pillow and PyYAML serve the converter)::

    from tfrecord_lite import TFRecordWriter, tf_record_iterator, encode_example, decode_example

The converter::

    result = tfrecord_lite.convert("job/output.manifest", "dataset", split=0.2)

``tfrecord_lite.speedups`` says whether the optional C core runs (``TFRECORD_LITE_PURE=1``
forces the pure-Python path).

Names are loaded on first use, so ``tfrecord-lite --help`` does not pay for protobuf.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "format.errors": (
        "DataCRCError",
        "DataLossError",
        "ExampleError",
        "LengthCRCError",
        "RecordError",
        "TFRecordLiteError",
        "TruncatedRecordError",
    ),
    "pipeline.errors": ("InputError", "OutputError"),
    "format.example": (
        "BytesList",
        "BytesValues",
        "Example",
        "Feature",
        "Features",
        "FloatList",
        "FloatValues",
        "Int64List",
        "IntValues",
        "SequenceExample",
        "decode_example",
        "decode_sequence_example",
        "encode_example",
        "encode_sequence_example",
    ),
    "format.records": (
        "TFRecordOptions",
        "TFRecordWriter",
        "tf_record_batches",
        "tf_record_iterator",
    ),
    "format.shards": ("ShardedWriter", "ShardName"),
    "format._accel": ("speedups",),
    "pipeline.api": ("convert",),
    "pipeline.convert": ("ConvertResult",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tfrecord_lite' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from tfrecord_lite.format._accel import speedups
    from tfrecord_lite.format.errors import (
        DataCRCError,
        DataLossError,
        ExampleError,
        LengthCRCError,
        RecordError,
        TFRecordLiteError,
        TruncatedRecordError,
    )
    from tfrecord_lite.format.example import (
        BytesList,
        BytesValues,
        Example,
        Feature,
        Features,
        FloatList,
        FloatValues,
        Int64List,
        IntValues,
        SequenceExample,
        decode_example,
        decode_sequence_example,
        encode_example,
        encode_sequence_example,
    )
    from tfrecord_lite.format.records import (
        TFRecordOptions,
        TFRecordWriter,
        tf_record_batches,
        tf_record_iterator,
    )
    from tfrecord_lite.format.shards import ShardedWriter, ShardName
    from tfrecord_lite.pipeline.api import convert
    from tfrecord_lite.pipeline.convert import ConvertResult
    from tfrecord_lite.pipeline.errors import InputError, OutputError
