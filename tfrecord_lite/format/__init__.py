"""The format library: TFRecord framing, CRC-32C, GZIP/ZLIB, tf.train.Example encoding and
decoding, shard names and plans, record indexes.  Imports nothing else of the package."""
