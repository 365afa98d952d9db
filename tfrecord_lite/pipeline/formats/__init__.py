"""The encode stage: one module per output format (ModelPack TFRecord, JSON, Darknet, COCO,
EdgeFirst) and what they share."""
