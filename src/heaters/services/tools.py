"""The standalone media tools (`heaters preprocess`, `detect`, `clip`): the product's media steps on plain
files, with no database or storage, for scripts and for trying the pipeline's pieces one at a time."""

from __future__ import annotations

from pathlib import Path

from heaters.config import Settings
from heaters.domain.limits import MediaLimits


def preprocess_file(source: Path, out: Path, settings: Settings, crf: int | None = None):
    """Master, proxy and features of `source` in `out` (see `heaters.adapters.media.preprocess`)."""
    from heaters.adapters.media.preprocess import preprocess

    crf = crf if crf is not None else settings.proxy_crf
    return preprocess(source, out, proxy_crf=crf, limits=MediaLimits.from_settings(settings))


def cut_file(proxy: str, start_frame: int, end_frame: int, out: Path):
    """Frames [start, end) of an all-intra proxy into `out` by stream copy."""
    from heaters.adapters.media.clip import cut_clip

    return cut_clip(proxy, start_frame, end_frame, out)


def detect_file(video: Path, min_shot_frames: int | None = None):
    """(frames, fps, Detection) of any video file: its cuts, every boundary with kind, span and confidence,
    and the suggested cuts just below the threshold (see `heaters.domain.shots.detect`)."""
    from heaters.adapters.media.analysis import decode_features
    from heaters.domain.shots import detect

    features, fps, frames = decode_features(video)
    return frames, fps, detect(features, fps, min_shot_frames=min_shot_frames)
