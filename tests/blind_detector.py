"""A detector that sees nothing, for tests of what the pipeline says about its inputs (the scene's
fields, frame sizes, signals) rather than of what the model finds: no model to load, no boxes to
tune around."""

from __future__ import annotations

import numpy as np

from detector.types import Detections


class NoBoxes:
    """Has the attributes ``analyze`` reads of a detector; every frame gives no detections."""

    input_size, class_names, name, model_path, conf = (128, 128), {0: "person"}, "none", None, 0.3

    def detect(self, frame: np.ndarray) -> Detections:
        return Detections.empty(self.class_names)
