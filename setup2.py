import sys, io, struct
sys.path.insert(0, "/work/wt-read")
from tfrecord_lite.format import records as R
from crc32c import crc32c
import zlib
data = open("/tmp/rb/r100.tfrecord","rb").read()[:58*116*116]
batch = next(R._frame_batches(io.BytesIO(data).read, "x", False))
g = batch[:64]
big = batch[:6400]
