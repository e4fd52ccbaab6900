"""The shot detector on synthetic frames: planes made with numpy, features by the domain, no files."""

from __future__ import annotations

import numpy as np
import pytest

from heaters.domain.shots import FEATURE_SIZE, ShotConfig, detect_cuts, frame_features

W, H = 160, 90
FPS = 25.0


def texture(seed: int, width: int = W, height: int = H) -> np.ndarray:
    """A smooth random RGB picture (blobs of colour), like a real scene at thumbnail scale."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, size=(height // 15 + 2, width // 15 + 2, 3))
    ys = np.linspace(0, coarse.shape[0] - 1.001, height)
    xs = np.linspace(0, coarse.shape[1] - 1.001, width)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = coarse[y0][:, x0] * (1 - fx) + coarse[y0][:, x0 + 1] * fx
    bottom = coarse[y0 + 1][:, x0] * (1 - fx) + coarse[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy + rng.normal(0, 3, size=(height, width, 3))


def features_of(rgb: np.ndarray) -> np.ndarray:
    """BT.601 YUV planes (chroma subsampled 2x2, as in yuv420p) -> one feature row."""
    rgb = np.clip(rgb, 0, 255)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    sub = lambda p: p.reshape(H // 2, 2, W // 2, 2).mean(axis=(1, 3))  # noqa: E731
    return frame_features(*(np.round(p).astype(np.uint8) for p in (y, sub(u), sub(v))))


def shot(seed: int, length: int, drift: float = 0.5) -> list[np.ndarray]:
    """A shot: one scene with a slow camera drift (a few pixels a second)."""
    big = texture(seed, W + 80, H)
    return [big[:, int(i * drift) : int(i * drift) + W] for i in range(length)]


def run(frames: list[np.ndarray], min_shot_frames: int = 25) -> list[int]:
    return detect_cuts(np.stack([features_of(f) for f in frames]), FPS, min_shot_frames)


def test_feature_row_is_compact_uint8():
    row = features_of(texture(1))
    assert row.dtype == np.uint8 and row.shape == (FEATURE_SIZE,)
    assert FEATURE_SIZE <= 1536


def test_hard_cuts_found_at_the_first_frame_of_each_new_shot():
    frames = shot(1, 60) + shot(2, 45) + shot(3, 70) + shot(4, 40)
    assert run(frames) == [60, 105, 175]


def test_one_shot_without_cuts():
    assert run(shot(5, 150)) == []


@pytest.mark.parametrize("length", [1, 2, 3])
def test_camera_flash_is_not_a_cut(length: int):
    frames = shot(6, 100)
    for k in range(length):
        frames[50 + k] = frames[50 + k] * 1.8 + 90
    assert run(frames) == []


def test_flash_does_not_hide_a_real_cut_nearby():
    frames = shot(7, 60) + shot(8, 60)
    frames[20] = frames[20] * 1.8 + 90
    frames[90] = frames[90] * 1.8 + 90
    assert run(frames) == [60]


@pytest.mark.parametrize("length", [6, 15, 30])
def test_dissolve_reported_once_inside_it(length: int):
    # slow camera drift: a long dissolve between fast-moving shots is a known weak spot (see module doc)
    a, b = shot(9, 80, drift=0.2), shot(10, 80, drift=0.2)
    start = 80 - length
    for k in range(length):
        alpha = (k + 1) / (length + 1)
        a[start + k] = a[start + k] * (1 - alpha) + b[k] * alpha
    frames = a + b[length:]
    cuts = run(frames)
    assert len(cuts) == 1
    assert start - 2 <= cuts[0] <= 79 + 2


def test_fade_through_black_reported_once_inside_it():
    a, b = shot(11, 70), shot(12, 70)
    for k in range(12):
        a[58 + k] = a[58 + k] * (1 - (k + 1) / 13)
        b[k] = b[k] * ((k + 1) / 13)
    frames = a + [np.zeros_like(a[0])] * 3 + b
    cuts = run(frames)
    assert len(cuts) == 1
    assert 58 - 2 <= cuts[0] <= 70 + 3 + 12 + 2


def test_fast_pan_is_not_a_cut():
    big = texture(13, W * 4, H)
    frames = [big[:, x : x + W] for x in range(0, 3 * W, 12)]  # 7.5% of the width every frame
    frames += frames[::-1]
    assert run(frames) == []


def test_black_leader_and_trailer_are_shots_of_their_own():
    black = [np.zeros((H, W, 3))] * 20
    assert run(black + shot(14, 80) + black) == [20, 100]


def test_minimum_shot_length_merges_short_shots():
    frames = shot(15, 60) + shot(16, 10) + shot(17, 60)
    cuts = run(frames, min_shot_frames=25)
    assert len(cuts) == 1 and cuts[0] in (60, 70)
    assert run(frames, min_shot_frames=5) == [60, 70]


def test_minimum_length_applies_to_edge_shots_when_asked():
    frames = shot(18, 10) + shot(19, 80)
    assert run(frames) == [10]  # a short opening shot is still a shot
    features = np.stack([features_of(f) for f in frames])
    assert detect_cuts(features, FPS, 25, ShotConfig(min_length_at_edges=True)) == []


def test_rejects_features_of_another_layout():
    with pytest.raises(ValueError):
        detect_cuts(np.zeros((10, 7), dtype=np.uint8), FPS, 25)


def test_too_short_series_has_no_cut():
    assert detect_cuts(np.zeros((0, FEATURE_SIZE), dtype=np.uint8), FPS, 25) == []
