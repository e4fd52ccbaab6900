"""Shot-boundary decisions over per-frame feature series (pure: numpy in, cut frame indices out).

Two halves, both free of I/O:
- `frame_features(y, u, v)` turns the planes of one decoded frame (any size, 8-bit YUV) into a compact
  uint8 feature row (FEATURE_SIZE bytes): a 32x18 luma thumbnail, 16x9 chroma thumbnails, a luma
  histogram and a 2-D chroma histogram (both stored as 255*sqrt(share), so Hellinger distances are a
  plain Euclidean norm). The media adapter only extracts planes and calls it.
- `detect_cuts(features, fps, min_shot_frames)` returns the first frame (0-based) of every new shot.

The detector (our own design; the seam follows PySceneDetect's: algorithms never open files):
1. A frame distance mixing histogram change (robust to motion) and thumbnail change (sensitive to
   content), each in [0, 1].
2. Hard cuts: the distance between consecutive frames must stand out from the local motion level
   (rolling median/upper quantile of the same distance around it, excluding the candidate itself).
3. Flashes: a candidate is dropped when frames at most `flash_frames` apart on either side of it look
   alike again (the picture returns), i.e. the change was a brief excursion, not a new shot.
4. Gradual transitions (dissolves, fades): at several temporal scales w, the distance between t-w and
   t+w must stand out from the distance at the same lag just before and just after (motion changes
   the picture at a steady rate; a transition changes it once), and the middle frame must lie between
   its ends (a dissolve is a mix of both; a fade passes through a dark, flat frame).
5. Fades through black: a run of black frames with picture on both sides, and different pictures.
6. Minimum shot length: a shot shorter than min_shot_frames is merged by dropping its weaker boundary
   (the first and last shot only need to outlast a flash, like PySceneDetect's min_scene_len).

Known weak spots: long dissolves (> ~20 frames) between shots that themselves move a lot (the motion
over the same lag hides the transition), cuts between two shots of near-identical colour and layout,
and fades to white (treated as flashes when short).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

THUMB_W, THUMB_H = 32, 18
CHROMA_W, CHROMA_H = 16, 9
LUMA_BINS = 32
CHROMA_BINS = 8  # per axis: CHROMA_BINS**2 cells over (U, V)
_Y_END = THUMB_W * THUMB_H
_UV_END = _Y_END + 2 * CHROMA_W * CHROMA_H
_HY_END = _UV_END + LUMA_BINS
FEATURE_SIZE = _HY_END + CHROMA_BINS**2  # 960 bytes per frame
_SAMPLES = 4  # samples per thumbnail cell along each axis (a cheap box filter against aliasing)


# ------------------------------------------------------------------------------------------ features
def _grid(plane: np.ndarray, cells_w: int, cells_h: int) -> np.ndarray:
    """Point samples on a regular grid of cells_h*_SAMPLES x cells_w*_SAMPLES (no full-frame work)."""
    h, w = plane.shape
    ys = (np.arange(cells_h * _SAMPLES) * 2 + 1) * h // (cells_h * _SAMPLES * 2)
    xs = (np.arange(cells_w * _SAMPLES) * 2 + 1) * w // (cells_w * _SAMPLES * 2)
    return plane[ys][:, xs]


@lru_cache(maxsize=8)
def _box_matrix(cells: int) -> np.ndarray:
    """(cells, cells*_SAMPLES) averaging matrix: a box filter as a matrix product (numpy's multi-axis
    reductions over tiny axes are an order of magnitude slower)."""
    return np.kron(np.eye(cells, dtype=np.float32), np.full((1, _SAMPLES), 1 / _SAMPLES, dtype=np.float32))


def _box(samples: np.ndarray, cells_w: int, cells_h: int) -> np.ndarray:
    means = _box_matrix(cells_h) @ samples.astype(np.float32) @ _box_matrix(cells_w).T
    return (means + 0.5).astype(np.uint8)


def _sqrt_share(counts: np.ndarray) -> np.ndarray:
    return np.round(np.sqrt(counts / max(1, counts.sum())) * 255).astype(np.uint8)


def frame_features(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """One feature row (uint8, FEATURE_SIZE) from a frame's 8-bit luma and chroma planes (2-D arrays)."""
    ys = _grid(y, THUMB_W, THUMB_H)
    us, vs = _grid(u, CHROMA_W, CHROMA_H), _grid(v, CHROMA_W, CHROMA_H)
    luma_hist = np.bincount((ys >> 3).ravel(), minlength=LUMA_BINS)
    shift = 8 - int(np.log2(CHROMA_BINS))
    chroma_hist = np.bincount(((us >> shift) * CHROMA_BINS + (vs >> shift)).ravel(), minlength=CHROMA_BINS**2)
    return np.concatenate(
        [
            _box(ys, THUMB_W, THUMB_H).ravel(),
            _box(us, CHROMA_W, CHROMA_H).ravel(),
            _box(vs, CHROMA_W, CHROMA_H).ravel(),
            _sqrt_share(luma_hist),
            _sqrt_share(chroma_hist),
        ]
    )


# ------------------------------------------------------------------------------------------ distances
@dataclass(frozen=True)
class _Series:
    """Feature columns as floats, split by meaning."""

    luma: np.ndarray  # (N, 576) in [0, 1]
    chroma: np.ndarray  # (N, 288) in [0, 1]
    hist: np.ndarray  # (N, 2, bins) unit-norm sqrt histograms (luma, chroma padded)
    mean: np.ndarray  # (N,) mean luma
    spread: np.ndarray  # (N,) luma standard deviation over the thumbnail

    @classmethod
    def of(cls, features: np.ndarray) -> _Series:
        f = features.astype(np.float32) / 255.0
        luma, chroma = f[:, :_Y_END], f[:, _Y_END:_UV_END]
        hy, hc = f[:, _UV_END:_HY_END], f[:, _HY_END:FEATURE_SIZE]
        hy = hy / np.maximum(np.linalg.norm(hy, axis=1, keepdims=True), 1e-6)
        hc = hc / np.maximum(np.linalg.norm(hc, axis=1, keepdims=True), 1e-6)
        hist = np.zeros((len(f), 2, max(LUMA_BINS, CHROMA_BINS**2)), dtype=np.float32)
        hist[:, 0, :LUMA_BINS], hist[:, 1, : CHROMA_BINS**2] = hy, hc
        return cls(luma, chroma, hist, luma.mean(axis=1), luma.std(axis=1))

    def distance(self, i: np.ndarray, j: np.ndarray, pixel_weight: float = 0.5) -> np.ndarray:
        """Distance between frames i and j (arrays of indices), in [0, 1].

        pixel_weight balances the thumbnail change (content and motion) against the histogram change
        (content only): long-range comparisons lean on histograms, which motion barely moves.
        """
        hell = np.linalg.norm(self.hist[i] - self.hist[j], axis=2).mean(axis=1) / np.sqrt(2)
        if pixel_weight == 0:
            return hell
        pix = np.abs(self.luma[i] - self.luma[j]).mean(axis=1) + 0.5 * np.abs(self.chroma[i] - self.chroma[j]).mean(
            axis=1
        )
        return (1 - pixel_weight) * hell + pixel_weight * np.minimum(1.0, 3.0 * pix)

    def mix_residual(self, a: np.ndarray, m: np.ndarray, b: np.ndarray) -> np.ndarray:
        """How far frame m is from the best mix of frames a and b (0 = exactly a mix), thumbnail space."""
        la, lm, lb = self.luma[a], self.luma[m], self.luma[b]
        d = lb - la
        alpha = np.clip((d * (lm - la)).sum(axis=1) / np.maximum((d * d).sum(axis=1), 1e-6), 0, 1)
        return np.abs(la + alpha[:, None] * d - lm).mean(axis=1)


# ------------------------------------------------------------------------------------------ detector
@dataclass(frozen=True)
class ShotConfig:
    """Detector settings; defaults are general (chosen on principles, not per file)."""

    hard_min: float = 0.12  # a hard cut changes the picture at least this much (distance units)
    hard_ratio: float = 3.0  # ... and this many times the local motion level on the calmer side
    hard_ratio_busy: float = 2.0  # ... and this many times the level on the busier side
    context_seconds: float = 1.0  # half-width of the window that measures the local motion level
    flash_frames: int = 4  # the longest flash (frames) that is ignored
    flash_return: float = 0.5  # a flash: the picture returns to within this share of the jump
    gradual_scales: tuple[int, ...] = (3, 6, 10, 16)  # half-widths w (frames): t-w is compared with t+w
    gradual_min: float = 0.15  # a gradual transition changes the picture at least this much ...
    gradual_ratio: float = 2.0  # ... and this many times as much as the same lag does beside it ...
    gradual_gap: float = 0.1  # ... and by this much more
    gradual_pixel_weight: float = 0.5  # thumbnail vs histogram share of the long-range distance
    mix_max: float = 0.3  # the middle frame's residual from a mix of the ends, relative to their distance
    dark_level: float = 0.09  # a frame this dark (mean luma) and flat is "black" (fades through black)
    flat_level: float = 0.04  # luma spread (std) of a frame without picture
    min_length_at_edges: bool = False  # True: the first / last shot also need min_shot_frames


def _side_levels(values: np.ndarray, half: int, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """For each t, the 75th percentile of values in [t-half, t-gap) and in (t+gap, t+half]."""
    n = len(values)
    padded = np.pad(values, half, mode="reflect" if n > half else "edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)[:n]
    before = np.percentile(windows[:, : half - gap + 1], 75, axis=1)
    after = np.percentile(windows[:, half + gap :], 75, axis=1)
    return before, after


def _hard_cuts(s: _Series, cfg: ShotConfig, fps: float) -> list[tuple[int, float]]:
    n = len(s.luma)
    t = np.arange(1, n)
    jump = np.concatenate([[0.0], s.distance(t - 1, t)])
    half = max(4, int(round(cfg.context_seconds * fps)))
    before, after = _side_levels(jump, half, gap=2)
    # the jump must stand out from the calmer side by hard_ratio (a cut into a fast pan is still a cut)
    # and from the busier side by hard_ratio_busy (a jump inside steady fast motion is not)
    calm, busy = np.minimum(before, after), np.maximum(before, after)
    ok = (jump > cfg.hard_min) & (jump > cfg.hard_ratio * calm) & (jump > cfg.hard_ratio_busy * busy)
    cuts = []
    for c in np.flatnonzero(ok):
        if c == 0 or jump[c] < jump[max(0, c - 1) : c + 2].max():
            continue
        if _is_excursion(s, c, jump[c], cfg):
            continue
        cuts.append((int(c), float(jump[c])))
    return cuts


def _is_excursion(s: _Series, c: int, jump: float, cfg: ShotConfig) -> bool:
    """True when frames around the change at c look alike again within flash_frames: a flash."""
    n = len(s.luma)
    k = cfg.flash_frames
    before = [i for i in range(c - 1 - k, c) if i >= 0]
    after = [j for j in range(c, c + k + 1) if j < n]
    pairs = [(i, j) for i in before for j in after if 1 < j - i <= k + 1]
    if not pairs:
        return False
    i, j = map(np.array, zip(*pairs, strict=True))
    return bool(s.distance(i, j).min() < cfg.flash_return * jump)


def _dark(s: _Series, cfg: ShotConfig) -> np.ndarray:
    """Frames with (almost) no picture: black. (Flat white is left out: that is what a flash looks like.)"""
    return (s.mean < cfg.dark_level) & (s.spread < cfg.flat_level)


def _fades(s: _Series, cfg: ShotConfig, fps: float) -> list[tuple[int, float]]:
    """Runs of frames without picture between frames with picture: a fade (or cut) through black.

    The picture must be clearly there within `context_seconds` on both sides (so a dark scene that
    hovers around the threshold does not flicker into cuts). Reported at the run's middle frame.
    """
    dark = _dark(s, cfg)
    n = len(dark)
    reach = max(2, int(round(cfg.context_seconds * fps)))
    lively = (s.spread > 2 * cfg.flat_level) & (s.mean > cfg.dark_level)
    found = []
    edges = np.flatnonzero(np.diff(dark.astype(np.int8)))
    starts = [e + 1 for e in edges if dark[e + 1]] if n else []
    for a in starts:
        b = a
        while b + 1 < n and dark[b + 1]:
            b += 1
        if a == 0 or b == n - 1:
            continue  # the video opens or ends in black: no boundary
        if not (lively[max(0, a - reach) : a].any() and lively[b + 1 : b + 1 + reach].any()):
            continue
        # a flash to white (or a dip to black within one shot) comes back to the same picture
        sides = [(max(0, a - 1 - k), min(n - 1, b + 1 + k)) for k in (reach // 2, reach)]
        i, j = map(np.array, zip(*sides, strict=True))
        if s.distance(i, j).min() > cfg.hard_min:
            found.append(((a + b) // 2 + (1 if b > a else 0), 1.0))
    return found


def _gradual(s: _Series, cfg: ShotConfig) -> list[tuple[int, float]]:
    n = len(s.luma)
    found: list[tuple[int, float]] = []
    for w in cfg.gradual_scales:
        if n < 6 * w + 1:
            continue
        t = np.arange(3 * w, n - 3 * w)
        across = s.distance(t - w, t + w, cfg.gradual_pixel_weight)
        outside = 0.5 * (
            s.distance(t - 3 * w, t - w, cfg.gradual_pixel_weight)
            + s.distance(t + w, t + 3 * w, cfg.gradual_pixel_weight)
        )
        score = across - outside
        ok = (across > cfg.gradual_min) & (across > cfg.gradual_ratio * outside) & (score > cfg.gradual_gap)
        for idx in np.flatnonzero(ok):
            lo, hi = max(0, idx - w), min(len(t), idx + w + 1)
            if score[idx] < score[lo:hi].max():
                continue  # not the peak of this transition at this scale
            c = int(t[idx])
            if not _steady_across(s, c, w, cfg) or not _between(s, c, w, cfg):
                continue
            found.append((c, float(score[idx])))
    return found


def _steady_across(s: _Series, c: int, w: int, cfg: ShotConfig) -> bool:
    """The change holds for every nearby choice of end frames (not a shake or flash at one end)."""
    n = len(s.luma)
    jitter = range(0, max(2, w // 2) + 1)
    pairs = [(c - w - a, c + w + b) for a in jitter for b in jitter if c - w - a >= 0 and c + w + b < n]
    i, j = map(np.array, zip(*pairs, strict=True))
    pw = cfg.gradual_pixel_weight
    across = s.distance(i, j, pw).min()
    before = s.distance(np.maximum(0, i - 2 * w), i, pw).max()
    after = s.distance(j, np.minimum(n - 1, j + 2 * w), pw).max()
    outside = 0.5 * (before + after) * 0.8
    return bool(
        across > cfg.gradual_min and across > cfg.gradual_ratio * outside and across - outside > cfg.gradual_gap
    )


def _between(s: _Series, c: int, w: int, cfg: ShotConfig) -> bool:
    """A dissolve's middle frame is a mix of its ends."""
    residual = s.mix_residual(np.array([c - w]), np.array([c]), np.array([c + w]))[0]
    ends = np.abs(s.luma[c - w] - s.luma[c + w]).mean()
    return bool(residual < cfg.mix_max * max(ends, 1e-6))


def _enforce_min_length(cuts: list[tuple[int, float]], n: int, min_shot_frames: int, edge_min: int) -> list[int]:
    """Drop the weakest boundary of any too-short shot until every shot is long enough.

    The first and last shot only need edge_min frames: a brief opening or closing shot is still a
    different shot (PySceneDetect's min_scene_len behaves the same way at the edges).
    """
    cuts = sorted(cuts)
    while True:
        bounds = [0] + [c for c, _ in cuts] + [n]
        last = len(bounds) - 2
        short = [
            k for k in range(last + 1) if bounds[k + 1] - bounds[k] < (edge_min if k in (0, last) else min_shot_frames)
        ]
        if not short or not cuts:
            return [c for c, _ in cuts]
        k = short[0]
        # shot k lies between cut k-1 (its start) and cut k (its end); drop the weaker existing one
        options = [i for i in (k - 1, k) if 0 <= i < len(cuts)]
        drop = min(options, key=lambda i: cuts[i][1])
        del cuts[drop]


def detect_cuts(features: np.ndarray, fps: float, min_shot_frames: int, config: ShotConfig | None = None) -> list[int]:
    """Cut frame indices (first frame of each new shot, 0-based) from a (N, FEATURE_SIZE) feature series."""
    cfg = config or ShotConfig()
    n = len(features)
    if n < 3:
        return []
    if features.shape[1] != FEATURE_SIZE:
        raise ValueError(f"expected {FEATURE_SIZE} features per frame, got {features.shape[1]}")
    s = _Series.of(features)
    hard = _hard_cuts(s, cfg, fps)
    # a gradual candidate near a hard cut is the same boundary seen at a larger scale
    candidates = [(c, score * 10) for c, score in hard]  # hard cuts win ties: their position is exact
    for c, score in _fades(s, cfg, fps) + sorted(_gradual(s, cfg), key=lambda x: -x[1]):
        if all(abs(c - other) > max(cfg.gradual_scales) for other, _ in candidates):
            candidates.append((c, score))
    min_shot_frames = max(1, min_shot_frames)
    edge_min = min_shot_frames if cfg.min_length_at_edges else min(min_shot_frames, cfg.flash_frames + 1)
    return _enforce_min_length(candidates, n, min_shot_frames, edge_min)
