"""Per-frame analysis features for shot detection, collected during the one decode pass.

CONTRACT (used by preprocessing and by `heaters detect`; keep it stable):
- `FeatureCollector().add(frame: av.VideoFrame)` for every decoded frame, in order;
- `.result() -> numpy.ndarray` of shape (frame_count, D), the input of `heaters.domain.shots`;
- `save_features(path, array)` / `load_features(path)` persist it (`features.npy`).
The detector owns what the features are; this first version is a placeholder (small RGB thumbnails).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

FEATURE_WIDTH, FEATURE_HEIGHT = 32, 18


class FeatureCollector:
    def __init__(self) -> None:
        self._rows: list[np.ndarray] = []

    def add(self, frame: av.VideoFrame) -> None:
        small = frame.reformat(width=FEATURE_WIDTH, height=FEATURE_HEIGHT, format="rgb24").to_ndarray()
        self._rows.append(small.reshape(-1))

    def result(self) -> np.ndarray:
        if not self._rows:
            return np.zeros((0, FEATURE_WIDTH * FEATURE_HEIGHT * 3), dtype=np.uint8)
        return np.stack(self._rows)


def save_features(path: Path, features: np.ndarray) -> None:
    np.save(path, features, allow_pickle=False)


def load_features(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)
