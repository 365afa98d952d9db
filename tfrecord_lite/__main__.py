from tfrecord_lite.tools.cli import entry

raise SystemExit(entry())
