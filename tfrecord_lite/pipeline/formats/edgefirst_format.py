"""EdgeFirst Dataset Format (Au-Zone's EdgeFirst Studio): ``OUT/<name>.arrow`` beside the
images in ``OUT/<name>/``, made by Au-Zone's own ``edgefirst_client.coco_to_arrow`` from our COCO
output, so the dataset is exactly what their tool makes.  ``edgefirst-client`` is an optional
extra (``pip install 'tfrecord-lite-tools[edgefirst]'``), imported only here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

INSTALL = "pip install 'tfrecord-lite-tools[edgefirst]'"


def available() -> bool:
    return importlib.util.find_spec("edgefirst_client") is not None


def name_for(output: Path) -> str:
    """The dataset's name: the output folder's."""
    return Path(output).resolve().name or "dataset"


def from_coco(coco_root: Path, arrow: Path, include_masks: bool) -> int:
    """Convert the COCO dataset at ``coco_root`` (annotations/ and train/, val/) into ``arrow``
    and stage its images in ``arrow``'s stem folder; returns the rows written."""
    import edgefirst_client

    return int(edgefirst_client.coco_to_arrow(str(coco_root), str(arrow), include_masks, None,
                                              None, str(coco_root)))
