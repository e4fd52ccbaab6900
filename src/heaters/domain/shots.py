"""Shot-boundary decisions over per-frame feature series (pure: numpy in, cut frame indices out).

Two halves, both free of I/O:
- `frame_features(y, u, v)` turns the planes of one decoded frame (any size, 8-bit YUV) into a compact
  uint8 feature row (FEATURE_SIZE bytes): a 32x18 luma thumbnail, 16x9 chroma thumbnails, a luma
  histogram and a 2-D chroma histogram (both stored as 255*sqrt(share), so Hellinger distances are a
  plain Euclidean norm). The media adapter only extracts planes; for speed it takes each frame's
  point samples (`frame_samples`) and makes the rows a batch at once (`features_of_samples`).
- `detect(features, fps)` returns a `Detection`: every boundary (first frame of the new shot, kind
  cut / dissolve / fade, the transition's span, a confidence) and the near-misses as suggested cuts;
  `detect_cuts(features, fps)` only the cut frames.

The detector (our own design; the seam follows PySceneDetect's: algorithms never open files):
1. A frame distance mixing histogram change (robust to motion) and thumbnail change (sensitive to
   content), each in [0, 1].
2. Hard cuts: the distance between consecutive frames must stand out from the local motion level
   (rolling upper quantile of the same distance around it, excluding the candidate itself) and from the
   frames right beside it (a whip-pan ramps up and down), and must not be a change of lighting (the
   same picture under a gain and offset: flicker, a lamp, auto-exposure). It must change the picture
   by hard_min, or by hard_min_outstanding when it stands out from the motion twice as clearly (a cut
   between two framings of one calm scene).
3. Flashes: a candidate fails when frames at most `flash_frames` apart on either side of it look alike
   again (the picture returns), i.e. the change was a brief excursion, not a new shot.
4. Gradual transitions (dissolves, fades): at several temporal scales w, the distance between t-w and
   t+w must stand out from the distance at the same lag just before and just after (motion changes
   the picture at a steady rate; a transition changes it once), no single frame may carry most of it,
   and the middle frame must be a mix of its ends and a flat level (a dissolve; a fade through black,
   white or any colour). A fade out followed by a fade in through an almost flat picture is one fade.
   These tests see the series without its brief excursions (a flash, strobe bursts: replaced by the
   frame before them), measure the motion beside a transition within the shots that the hard cuts
   delimit (a fast edit puts cuts right beside dissolves), ignore comparisons across a hard cut, and
   refuse a change that is the camera moving: when every big step of it is explained by a shift of
   the thumbnail (the picture between any black bars), it is a pan or whip-pan inside a shot.
   Where the camera moves (a pan), the same lag changes the picture beside a transition about as much
   as across it; there the pictures are also compared aligned by their best shift (estimated on the
   column profiles, then refined in 2-D; a shift at the edge of the search is not trusted), the motion
   beside must then be small on both sides, and the evidence must be clearer (aligned_strictness). The
   middle of such a dissolve is tested with each end moved onto it: some frame of the span must be a
   mix of the moved ends, clearly better than either end alone (a pan's middle frame is an end, moved).
   A candidate whose middle is no mix of its ends as they are gets that test too (a dissolve after a
   fast pan). A side of a comparison that a cut leaves without lag (less than w frames) does not count.
5. Fades through black (or long white): a run of flat frames with picture on both sides, and different
   pictures. Brief white is a flash; a brief drop to black between the same picture is a dropout. A
   fade through black next to a hard cut is its own boundary unless their spans touch (a cut through
   one black frame a few frames after another cut).
6. Minimum shot length is a robustness parameter, not a policy: min(0.25 s, flash_frames + 1) frames.
   Real shots of a few frames are shots (fast-cut footage is full of them).

Every decision at frame f reads frames within a bounded distance of f: the furthest are the gradual
tests (t +- (3.5w + 1), w up to 16, moved by up to w to the centre of change), which now also read the
hard-cut decisions there (each reading context_seconds further): about 73 + context_seconds * fps + 3
frames on each side (progressive detection must wait at least that long before a result is final).

Confidence: each test compares a measure with its threshold; the candidate's margin is the smallest
log-ratio over its tests (>= 0: all pass). confidence = 1 / (1 + exp(-slope * margin)), so 0.5 is the
threshold; candidates that fail narrowly (confidence >= suggest_min) are suggested cuts. All from the
one feature series: no second decode.

Known weak spots: dissolves between shots that pan fast (beyond about 3 px a frame at 160 px wide, i.e.
2 % of the width a frame, a long dissolve's ends lie beyond the 12-of-32-column shift search) or that
tilt (vertical search 3 of 18 rows), and long dissolves between a still and a panning shot (synthetic
tests: 1-2 px a frame in either or both shots, any direction, are found); a whip-pan from one shot into
another (its middle frames are no mix of its ends); and a cut followed within about a second by a
whip-pan (the motion level beside the cut is high).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
_REPEATED = 0.003  # a frame this close to the previous one repeats it (frame-rate conversion, a still)
_BLACK, _WHITE = 16 / 255, 235 / 255  # video-range luma of black and white
_SAMPLES = 4  # samples per thumbnail cell along each axis (a cheap box filter against aliasing)


# ------------------------------------------------------------------------------------------ features
@lru_cache(maxsize=32)
def _grid_index(h: int, w: int, cells_w: int, cells_h: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of point samples on a regular grid of cells_h*_SAMPLES x cells_w*_SAMPLES
    (no full-frame work), shaped to pick them in one fancy index."""
    ys = (np.arange(cells_h * _SAMPLES) * 2 + 1) * h // (cells_h * _SAMPLES * 2)
    xs = (np.arange(cells_w * _SAMPLES) * 2 + 1) * w // (cells_w * _SAMPLES * 2)
    return ys[:, None], xs[None, :]


@lru_cache(maxsize=32)
def _flat_grid_index(h: int, w: int, row_stride: int, cells_w: int, cells_h: int) -> np.ndarray:
    ys, xs = _grid_index(h, w, cells_w, cells_h)
    return ys * row_stride + xs


def _grid(plane: np.ndarray, cells_w: int, cells_h: int) -> np.ndarray:
    h, w = plane.shape
    if plane.dtype == np.uint8 and plane.strides[1] == 1:
        # rows of bytes (a decoded plane, padded or not): one flat gather is several times faster
        # than numpy's 2-D fancy indexing
        flat = np.lib.stride_tricks.as_strided(plane, ((h - 1) * plane.strides[0] + w,), (1,))
        return flat[_flat_grid_index(h, w, plane.strides[0], cells_w, cells_h)]
    return plane[_grid_index(h, w, cells_w, cells_h)]


@lru_cache(maxsize=8)
def _box_matrix(cells: int) -> np.ndarray:
    """(cells, cells*_SAMPLES) averaging matrix: a box filter as a matrix product (numpy's multi-axis
    reductions over tiny axes are an order of magnitude slower)."""
    return np.kron(np.eye(cells, dtype=np.float32), np.full((1, _SAMPLES), 1 / _SAMPLES, dtype=np.float32))


def _box(samples: np.ndarray, cells_w: int, cells_h: int) -> np.ndarray:
    """Cell means of (B, cells_h*_SAMPLES, cells_w*_SAMPLES) samples: (B, cells_h*cells_w) uint8."""
    means = _box_matrix(cells_h) @ samples.astype(np.float32) @ _box_matrix(cells_w).T
    return (means + 0.5).astype(np.uint8).reshape(len(samples), -1)


_Y_SAMPLES = THUMB_W * THUMB_H * _SAMPLES**2
_UV_SAMPLES = CHROMA_W * CHROMA_H * _SAMPLES**2
# sqrt-share histograms: counts times this, square-rooted, times 255 (sample counts are fixed)
_HIST_SCALE = np.concatenate([np.full(LUMA_BINS, 1 / _Y_SAMPLES), np.full(CHROMA_BINS**2, 1 / _UV_SAMPLES)]).astype(
    np.float32
)
_CHROMA_SHIFT = 8 - int(np.log2(CHROMA_BINS))
SAMPLE_SHAPES = (
    (THUMB_H * _SAMPLES, THUMB_W * _SAMPLES),
    (CHROMA_H * _SAMPLES, CHROMA_W * _SAMPLES),
    (CHROMA_H * _SAMPLES, CHROMA_W * _SAMPLES),
)


def frame_samples(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The point samples of a frame's 8-bit luma and chroma planes (2-D arrays) that its feature row is
    made of (shapes SAMPLE_SHAPES): the only per-frame work; `features_of_samples` does a batch at once."""
    return _grid(y, THUMB_W, THUMB_H), _grid(u, CHROMA_W, CHROMA_H), _grid(v, CHROMA_W, CHROMA_H)


def features_of_samples(ys: np.ndarray, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
    """Feature rows (B, FEATURE_SIZE) uint8 from a batch of frame samples (B, *SAMPLE_SHAPES[k])."""
    b = len(ys)
    codes = np.concatenate(
        [
            (ys >> 3).reshape(b, -1),
            LUMA_BINS + ((us >> _CHROMA_SHIFT) * CHROMA_BINS + (vs >> _CHROMA_SHIFT)).reshape(b, -1),
        ],
        axis=1,
    ).astype(np.int64)
    bins = LUMA_BINS + CHROMA_BINS**2
    counts = np.bincount((codes + (np.arange(b) * bins)[:, None]).ravel(), minlength=b * bins).reshape(b, bins)
    rows = np.empty((b, FEATURE_SIZE), dtype=np.uint8)
    rows[:, :_Y_END] = _box(ys, THUMB_W, THUMB_H)
    rows[:, _Y_END:_UV_END] = _box(np.concatenate([us, vs], axis=1), CHROMA_W, CHROMA_H * 2)
    rows[:, _UV_END:] = np.rint(np.sqrt(counts * _HIST_SCALE) * 255)
    return rows


def frame_features(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """One feature row (uint8, FEATURE_SIZE) from a frame's 8-bit luma and chroma planes (2-D arrays)."""
    return features_of_samples(*(p[None] for p in frame_samples(y, u, v)))[0]


# ------------------------------------------------------------------------------------------ distances
@dataclass(frozen=True)
class _Series:
    """Feature columns as floats, split by meaning."""

    luma: np.ndarray  # (N, 576) in [0, 1]
    chroma: np.ndarray  # (N, 288) in [0, 1]
    hist: np.ndarray  # (N, 2, bins) unit-norm sqrt histograms (luma, chroma padded)
    mean: np.ndarray  # (N,) mean luma
    spread: np.ndarray  # (N,) luma standard deviation over the thumbnail
    explained: dict[int, float] = field(default_factory=dict, compare=False)  # motion_explained, by step

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

    def take(self, rows: np.ndarray) -> _Series:
        """The series with frame k replaced by frame rows[k]."""
        return _Series(self.luma[rows], self.chroma[rows], self.hist[rows], self.mean[rows], self.spread[rows])

    def distance(self, i: np.ndarray, j: np.ndarray, pixel_weight: float = 0.5) -> np.ndarray:
        """Distance between frames i and j (arrays of indices), in [0, 1].

        pixel_weight balances the thumbnail change (content and motion) against the histogram change
        (content only): long-range comparisons lean on histograms, which motion barely moves.
        """
        hell, pix = self.parts(i, j, pixel_weight != 0)
        return hell if pixel_weight == 0 else (1 - pixel_weight) * hell + pixel_weight * np.minimum(1.0, 3.0 * pix)

    def parts(self, i: np.ndarray, j: np.ndarray, pixels: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The two parts of distance(i, j): the histogram (Hellinger) change and the thumbnail change."""
        hell = np.linalg.norm(self.hist[i] - self.hist[j], axis=2).mean(axis=1) / np.sqrt(2)
        if not pixels:
            return hell, hell
        pix = np.abs(self.luma[i] - self.luma[j]).mean(axis=1) + 0.5 * np.abs(self.chroma[i] - self.chroma[j]).mean(
            axis=1
        )
        return hell, pix

    def motion_explained(self, i: np.ndarray) -> np.ndarray:
        """_motion_explained per step, remembered (candidates at several scales share their steps)."""
        for k in i:
            if int(k) not in self.explained:
                self.explained[int(k)] = float(self._motion_explained(np.array([k]))[0])
        return np.array([self.explained[int(k)] for k in i])

    def _motion_explained(self, i: np.ndarray, reach_x: int = 12, reach_y: int = 3) -> np.ndarray:
        """For each step i -> i+1, the thumbnail change left after the best shift of the picture (up to
        reach_x / reach_y thumbnail pixels, on the overlap), as a share of the raw change: near 0 when
        the camera moved (a pan, a whip-pan), near 1 when the picture itself changed (a cut, a dissolve)."""
        a = self.luma[i].reshape(-1, THUMB_H, THUMB_W)
        b = self.luma[i + 1].reshape(-1, THUMB_H, THUMB_W)
        raw = np.abs(a - b).mean(axis=(1, 2))
        # the picture only: black bars (letterbox, pillarbox) stay put while the picture moves
        lit = np.maximum(a.max(axis=0), b.max(axis=0)) > _BLACK + 0.04
        rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
        if len(rows) < THUMB_H // 2 or len(cols) < THUMB_W // 2:
            return np.ones(len(i))
        box = (slice(None), slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        a, b = a[box], b[box]
        h, w = a.shape[1:]
        reach_y, reach_x = min(reach_y, h // 3), min(reach_x, w // 3)
        pad = ((0, 0), (reach_y, reach_y), (reach_x, reach_x))
        # every shift at once: windows of the zero-padded next frame, and how many real pixels each holds
        shifted = np.lib.stride_tricks.sliding_window_view(np.pad(b, pad), (h, w), axis=(1, 2))
        inside = np.lib.stride_tricks.sliding_window_view(np.pad(np.ones((h, w), np.float32), pad[1:]), (h, w))
        residual = (np.abs(a[:, None, None] - shifted) * inside).sum(axis=(3, 4)) / inside.sum(axis=(2, 3))
        raw = np.maximum(raw, np.abs(a - b).mean(axis=(1, 2)))
        return np.minimum(raw, residual.min(axis=(1, 2))) / np.maximum(raw, 1e-6)

    def shifts(
        self, i: np.ndarray, j: np.ndarray, reach_x: int = 12, reach_y: int = 3
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each pair, the shift (dx, dy) in thumbnail pixels that best maps frame j's picture onto
        frame i's (j[y + dy, x + dx] ~ i[y, x]): the horizontal shift estimated on the column profiles
        (a cheap 1-D search), then the best vertical shift there, then the horizontal one refined."""
        pa = self.luma[i].reshape(-1, THUMB_H, THUMB_W).mean(axis=1)
        pb = self.luma[j].reshape(-1, THUMB_H, THUMB_W).mean(axis=1)
        # every horizontal shift at once: windows of the NaN-padded profile (NaN: no picture there)
        windows = np.lib.stride_tricks.sliding_window_view(
            np.pad(pb, ((0, 0), (reach_x, reach_x)), constant_values=np.nan), THUMB_W, axis=1
        )
        diff = np.abs(pa[:, None, :] - windows)
        costs = np.fmax(diff, 0.0).sum(axis=2) / (THUMB_W - np.abs(np.arange(-reach_x, reach_x + 1)))
        bx, by = costs.argmin(axis=1) - reach_x, np.zeros(len(i), dtype=int)
        best = np.full(len(i), np.inf)
        moved = _Moved(self.luma[j], 1, THUMB_H, THUMB_W, reach_y, reach_x + 1)
        # the best vertical shift at that horizontal one (coarse to fine), then the horizontal one refined
        coarse = range(-reach_y + 1, reach_y, 2)  # every other height, then the ones beside the best
        for moves in ([(0, dy) for dy in coarse], [(0, -1), (0, 1)], [(-1, 0), (1, 0)]):
            x0, y0 = bx.copy(), by.copy()
            for ddx, ddy in moves:
                dx, dy = np.clip(x0 + ddx, -reach_x, reach_x), y0 + ddy
                res = moved.residual(self.luma[i], dx, dy)
                better = res < best
                best[better], bx[better], by[better] = res[better], dx[better], dy[better]
        return bx, by

    def aligned_distance(self, i: np.ndarray, j: np.ndarray, pixel_weight: float = 0.5) -> np.ndarray:
        """distance(i, j) with frame j's thumbnail first moved by its best shift onto frame i's (the
        camera's motion taken out: what is left is the picture changing)."""
        raw = self.distance(i, j, pixel_weight)
        if not len(i):
            return raw
        dx, dy = self.shifts(i, j)
        cx, cy = np.rint(dx / 2).astype(int), np.rint(dy / 2).astype(int)  # chroma has half the pixels
        pix = _Moved(self.luma[j], 1, THUMB_H, THUMB_W, 3, 12).residual(self.luma[i], dx, dy)
        pix += 0.5 * _Moved(self.chroma[j], 2, CHROMA_H, CHROMA_W, 2, 6).residual(self.chroma[i], cx, cy)
        hell = self.distance(i, j, 0.0)
        aligned = (1 - pixel_weight) * hell + pixel_weight * np.minimum(1.0, 3.0 * pix)
        # a shift at the edge of the search is no measured motion (it may go on beyond, or match by chance
        # on a narrow overlap): there the pictures stay as they are
        trusted = (np.abs(dx) < 12) & (np.abs(dy) < 3)
        return np.where(trusted, np.minimum(raw, aligned), raw)

    def relit_share(self, a: int, b: int) -> float:
        """The share of the thumbnail change from frame a to b left after the best gain and offset (a
        change of lighting): near 0 for the same picture under other light, large for another picture."""
        la, lb = self.luma[a], self.luma[b]
        raw = float(np.abs(lb - la).mean())
        if raw < 1e-6:
            return 1.0
        va = float(la.var())
        gain = float(((la - la.mean()) * (lb - lb.mean())).mean() / va) if va > 1e-8 else 0.0
        if not 0.5 <= gain <= 2.0:
            return 1.0  # not a plausible change of light (a cut to or from black, or to another picture)
        fitted = gain * (la - la.mean()) + lb.mean()
        return float(np.abs(lb - fitted).mean()) / raw

    def aligned_mix_residuals(self, a: int, middles: np.ndarray, b: int) -> list[tuple[float, float, float]]:
        """mix_residual for each middle frame m, with frames a and b each first moved onto m by its best
        shift (a dissolve between moving shots), on the picture all three share; with the aligned ends'
        distance and how far m is from the nearer end alone (a pan's middle frame is one of its ends,
        moved)."""
        k = len(middles)
        ends_idx = np.tile([a, b], k)
        dx, dy = self.shifts(np.repeat(middles, 2), ends_idx)
        # the picture only: black bars (letterbox, pillarbox) stay put while the picture moves, so they
        # are no picture wherever they are moved to
        frames = self.luma[np.concatenate([[a, b], middles])].reshape(-1, THUMB_H, THUMB_W)
        lit = frames.max(axis=0) > _BLACK + 0.04
        box = np.zeros((THUMB_H, THUMB_W), dtype=bool)
        rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
        if len(rows) and len(cols):
            box[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] = True
        box = box.ravel()
        pictures = np.where(box, self.luma[ends_idx], np.nan)
        moved = _Moved(pictures, 1, THUMB_H, THUMB_W, 3, 12).moved(dx, dy).reshape(k, 2, -1)
        keep = np.isfinite(moved).all(axis=1) & box  # (k, pixels): the picture all three share
        count = keep.sum(axis=1)
        la, lb = np.where(keep, moved[:, 0], 0.0), np.where(keep, moved[:, 1], 0.0)
        lm = np.where(keep, self.luma[middles], 0.0)
        best = np.full(k, np.inf)
        for flat in (0.0, _BLACK, _WHITE):  # a mix alone, or with black or white: least squares, 2 x 2
            basis = np.stack([la - flat, lb - flat], axis=2) * keep[:, :, None]
            target = (lm - flat) * keep
            gram = np.einsum("kpi,kpj->kij", basis, basis) + 1e-9 * np.eye(2)
            coef = np.linalg.solve(gram, np.einsum("kpi,kp->ki", basis, target)[:, :, None])[:, :, 0]
            fit = np.abs(np.einsum("kpi,ki->kp", basis, coef) - target).sum(axis=1)
            best = np.minimum(best, fit / np.maximum(count, 1))
        dist = np.abs(la - lb).sum(axis=1) / np.maximum(count, 1)
        alone = np.minimum(np.abs(lm - la).sum(axis=1), np.abs(lm - lb).sum(axis=1)) / np.maximum(count, 1)
        few = count < self.luma.shape[1] // 3
        rows = zip(few, best, dist, alone, strict=True)
        return [(np.inf, 0.0, 0.0) if f else (float(r), float(e), float(a)) for f, r, e, a in rows]

    def mix_residual(self, a: int, m: int, b: int) -> float:
        """How far frame m is from the best mix of frames a and b, alone (a dissolve) or with black or
        white (a fade through either): 0 = exactly such a mix, thumbnail space. (Not with any flat grey:
        a whip-pan's blur is close to one.)"""
        la, lm, lb = self.luma[a], self.luma[m], self.luma[b]
        best = np.inf
        for level in (None, _BLACK, _WHITE):
            flat = 0.0 if level is None else level
            basis = np.stack([la - flat, lb - flat], axis=1)
            coef, *_ = np.linalg.lstsq(basis, lm - flat, rcond=None)
            best = min(best, float(np.abs(basis @ coef - (lm - flat)).mean()))
        return best


class _Moved:
    """Thumbnails (planes of h x w each) that can be moved by a shift per thumbnail: padded once with NaN
    (no picture) and gathered by flat indices."""

    def __init__(self, rows: np.ndarray, planes: int, h: int, w: int, reach_y: int, reach_x: int):
        self.shape, self.reach = (planes, h, w), (reach_y, reach_x)
        pics = rows.reshape(-1, planes, h, w)
        padded = np.pad(pics, ((0, 0), (0, 0), (reach_y, reach_y), (reach_x, reach_x)), constant_values=np.nan)
        self.flat = padded.reshape(len(rows), -1)
        hp, wp = h + 2 * reach_y, w + 2 * reach_x
        self.wp = wp
        self.base = (
            np.arange(planes)[:, None, None] * hp * wp
            + (np.arange(h)[None, :, None] + reach_y) * wp
            + (np.arange(w)[None, None, :] + reach_x)
        ).ravel()

    def residual(self, rows: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        """Mean absolute difference between rows and the thumbnails moved by (dx, dy), on their overlap."""
        planes, h, w = self.shape
        dx, dy = np.clip(dx, -self.reach[1], self.reach[1]), np.clip(dy, -self.reach[0], self.reach[0])
        moved = np.take_along_axis(self.flat, self.base[None, :] + (dy * self.wp + dx)[:, None], axis=1)
        diff = np.fmax(np.abs(rows - moved), 0.0)  # fmax drops the NaN of the padding (no picture): 0
        return diff.sum(axis=1) / (planes * (h - np.abs(dy)) * (w - np.abs(dx)))

    def moved(self, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        return np.take_along_axis(self.flat, self.base[None, :] + (dy * self.wp + dx)[:, None], axis=1)


# ------------------------------------------------------------------------------------------ detector
@dataclass(frozen=True)
class ShotConfig:
    """Detector settings; defaults are general (chosen on principles, not per file)."""

    hard_min: float = 0.12  # a hard cut changes the picture at least this much (distance units)
    hard_min_outstanding: float = 0.06  # ... or this much when it stands out twice as clearly as below
    hard_ratio: float = 3.0  # ... and this many times the local motion level on the calmer side
    hard_ratio_busy: float = 2.0  # ... and this many times the level on the busier side
    hard_ratio_adjacent: float = 1.6  # ... and this many times the change between the frames beside it
    relit_min: float = 0.12  # ... and this share of the change must remain after matching the lighting
    context_seconds: float = 1.0  # half-width of the window that measures the local motion level
    flash_frames: int = 4  # the longest flash (frames) that is ignored
    flash_return: float = 0.5  # a flash: the picture returns to within this share of the jump
    gradual_scales: tuple[int, ...] = (3, 6, 10, 16)  # half-widths w (frames): t-w is compared with t+w
    gradual_min: float = 0.15  # a gradual transition changes the picture at least this much ...
    gradual_ratio: float = 2.0  # ... and this many times as much as the same lag does beside it ...
    gradual_gap: float = 0.1  # ... and by this much more
    gradual_pixel_weight: float = 0.5  # thumbnail vs histogram share of the long-range distance
    gradual_step_max: float = 0.6  # no single frame step carries more than this share of a gradual change
    motion_share_max: float = 0.5  # a gradual change whose every big step is a shift to within this share is motion
    mix_max: float = 0.3  # the middle frame's residual from a mix of the ends, relative to their distance
    aligned_strictness: float = 1.25  # pictures compared aligned (camera motion taken out) must pass by this factor
    mix_alone_max: float = 0.5  # ... and (ends aligned) relative to its distance from the nearer end alone
    dark_level: float = 0.09  # a frame this dark (mean luma) and flat is "black" (fades through black)
    bright_level: float = 0.85  # a frame this bright (mean luma) and flat is "white" (fades to white)
    flat_level: float = 0.025  # luma spread (std) of a frame without picture
    min_shot_seconds: float = 0.25  # robustness, not policy: the shortest shot is min(this, flash_frames + 1)
    min_length_at_edges: bool = False  # True: the first / last shot also need min_shot_frames
    # confidence = 1 / (1 + exp(-slope * margin)): margin 0 (the threshold) is 0.5. Slopes and the cap
    # were chosen on the development set; bench/detect.py prints the calibration in-sample and held out
    # (slopes refitted on one half of the sources, scored on the other). On this set every kept boundary
    # is real at every confidence, so the slopes are conservative: 0.9 means "very likely", not 90 %.
    confidence_slope: float = 8.0  # hard cuts
    gradual_confidence_slope: float = 6.0  # dissolves and fades
    gradual_margin_cap: float = 0.4  # gradual confidence tops out at 1 / (1 + exp(-6 * 0.4)) = 0.917
    suggest_min: float = 0.2  # candidates below the threshold but at least this confident are suggestions

    def min_shot_frames(self, fps: float) -> int:
        return max(1, min(self.flash_frames + 1, round(self.min_shot_seconds * fps)))


@dataclass(frozen=True)
class Boundary:
    """One shot boundary: `frame` is the first frame of the new shot; `span` the transition's frames
    [first, last] (a hard cut spans the last old frame and the first new one); `confidence` in (0, 1),
    above 0.5 for a boundary the detector keeps."""

    frame: int
    kind: str  # "cut" | "dissolve" | "fade"
    span: tuple[int, int]
    confidence: float

    def to_json(self) -> dict:
        return {"frame": self.frame, "kind": self.kind, "span": list(self.span), "confidence": self.confidence}


@dataclass(frozen=True)
class Detection:
    """The detector's answer for one video: the boundaries it keeps, and near-misses as suggestions."""

    frames: int
    boundaries: tuple[Boundary, ...]
    suggested: tuple[Boundary, ...]

    @property
    def cuts(self) -> list[int]:
        return [b.frame for b in self.boundaries]


@dataclass(frozen=True)
class _Candidate:
    frame: int
    kind: str
    span: tuple[int, int]
    margin: float  # >= 0: passes every test; the smallest log-ratio of a measure to its threshold
    rank: float  # which of two overlapping candidates describes the boundary better (higher wins)


def _ratio(value: float, threshold: float) -> float:
    """log(value / threshold): > 0 when the test passes, and by how much."""
    return float(np.log(max(value, 1e-6) / max(threshold, 1e-6)))


def _side_levels(values: np.ndarray, half: int, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """For each t, the 75th percentile of values in [t-half, t-gap) and in (t+gap, t+half]."""
    n = len(values)
    padded = np.pad(values, half, mode="reflect" if n > half else "edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)[:n]
    before = np.percentile(windows[:, : half - gap + 1], 75, axis=1)
    after = np.percentile(windows[:, half + gap :], 75, axis=1)
    return before, after


def _motion_levels(jump: np.ndarray, cfg: ShotConfig, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """For each frame, the local motion level on its calmer and on its busier side (within
    context_seconds, the frame itself and its neighbours excluded)."""
    half = max(4, int(round(cfg.context_seconds * fps)))
    # the motion level ignores isolated spikes (other cuts of a fast edit, flashes, a strobe): a running
    # minimum over 3 frames removes a spike of one or two frames and keeps steady or ramping motion.
    # Repeated frames (frame-rate conversion: 0, x, x, x, 0, ...) are no evidence of calm: skipped.
    moving = np.where(jump < _REPEATED, np.inf, jump)
    padded = np.pad(moving, 1, mode="edge")
    level = np.lib.stride_tricks.sliding_window_view(padded, 3).min(axis=1)
    level[np.isinf(level)] = 0.0
    before, after = _side_levels(level, half, gap=2)
    return np.minimum(before, after), np.maximum(before, after)


def _hard_cuts(s: _Series, jump: np.ndarray, calm: np.ndarray, busy: np.ndarray, cfg: ShotConfig) -> list[_Candidate]:
    n = len(s.luma)
    # the jump must stand out from the calmer side by hard_ratio (a cut into a fast pan is still a cut)
    # and from the busier side by hard_ratio_busy (a jump inside steady fast motion is not)
    found = []
    for c in np.flatnonzero(jump > 0.5 * cfg.hard_min):
        if c == 0 or jump[c] < jump[max(0, c - 1) : c + 2].max():
            continue
        j = float(jump[c])
        standing_out = min(
            _ratio(j, cfg.hard_ratio * calm[c]),
            _ratio(j, cfg.hard_ratio_busy * busy[c]),
            # ... and from the frames right beside it (a whip-pan ramps up and down over several frames)
            _ratio(j, cfg.hard_ratio_adjacent * float(max(jump[c - 1], jump[min(n - 1, c + 1)]))),
        )
        # a smaller change is enough when it stands out from the motion twice as clearly as asked (a cut
        # between two framings of one calm scene: same colours, similar layout)
        outstanding = min(_ratio(j, cfg.hard_min_outstanding), standing_out - float(np.log(2)))
        if outstanding >= 0:  # ... and is no bump of the camera (the same picture, shifted)
            explained = float(s.motion_explained(np.array([c - 1]))[0])
            outstanding = min(outstanding, _ratio(explained, cfg.motion_share_max))
        margin = min(
            max(_ratio(j, cfg.hard_min), outstanding),
            standing_out,
            _ratio(_return_distance(s, c, cfg), cfg.flash_return * j),
            # a change of lighting (flicker, a lamp, exposure) is the same picture, brighter or darker
            _ratio(s.relit_share(c - 1, c), cfg.relit_min),
        )
        found.append(_Candidate(int(c), "cut", (int(c) - 1, int(c)), margin, 10 * j))
    return found


def _return_distance(s: _Series, c: int, cfg: ShotConfig) -> float:
    """How close frames around the change at c come again within flash_frames (small: a flash)."""
    n = len(s.luma)
    k = cfg.flash_frames
    before = [i for i in range(c - 1 - k, c) if i >= 0]
    after = [j for j in range(c, c + k + 1) if j < n]
    pairs = [(i, j) for i in before for j in after if 1 < j - i <= k + 1]
    if not pairs:
        return np.inf
    i, j = map(np.array, zip(*pairs, strict=True))
    return float(s.distance(i, j).min())


def _without_flashes(s: _Series, jump: np.ndarray, busy: np.ndarray, cfg: ShotConfig) -> _Series:
    """The series with every brief excursion (a flash, a strobe burst: at most flash_frames frames after
    which the picture returns) replaced by the frame before it, for the gradual tests: a dissolve into a
    strobing shot is still a dissolve, and a burst at one end of a comparison must not decide it."""
    n = len(jump)
    rows = np.arange(n)
    k = cfg.flash_frames
    # an excursion stands out from the motion around it as a cut would (a shaking camera also returns)
    starts = [t for t in np.flatnonzero((jump >= cfg.hard_min) & (jump >= cfg.hard_ratio_busy * busy)) if 0 < t < n - 1]
    for t in starts:
        if rows[t - 1] != t - 1:
            continue  # the way back from an excursion (the picture returning) starts none
        ahead = np.arange(t + 1, min(n, t + k + 1))
        back = s.distance(np.full(len(ahead), t - 1), ahead)
        returned = np.flatnonzero(back < cfg.flash_return * jump[t])
        if len(returned):
            rows[t : ahead[returned[0]]] = rows[t - 1]
    return s if not len(starts) else s.take(rows)


def _flat(s: _Series, cfg: ShotConfig) -> np.ndarray:
    """Frames with (almost) no picture: black, or white."""
    return (s.spread < cfg.flat_level) & ((s.mean < cfg.dark_level) | (s.mean > cfg.bright_level))


def _fades(s: _Series, cfg: ShotConfig, fps: float) -> list[_Candidate]:
    """Runs of frames without picture between frames with picture: a fade (or cut) through black/white.

    The picture must be clearly there within `context_seconds` on both sides (so a dark scene that
    hovers around the threshold does not flicker into cuts), and differ on both sides (a flash to white,
    or a dip to black within one shot, comes back to the same picture). Reported at the run's middle.
    """
    flat = _flat(s, cfg)
    n = len(flat)
    reach = max(2, int(round(cfg.context_seconds * fps)))
    lively = s.spread > 2 * cfg.flat_level
    found = []
    edges = np.flatnonzero(np.diff(flat.astype(np.int8)))
    starts = [e + 1 for e in edges if flat[e + 1]] if n else []
    for a in starts:
        b = a
        while b + 1 < n and flat[b + 1]:
            b += 1
        if a == 0 or b == n - 1:
            continue  # the video opens or ends in black: no boundary
        if s.mean[a] > cfg.bright_level and b - a < cfg.flash_frames:
            continue  # brief white is what a flash looks like; a fade to white is left to _gradual
        if not (lively[max(0, a - reach) : a].any() and lively[b + 1 : b + 1 + reach].any()):
            continue
        sides = [(max(0, a - 1 - k), min(n - 1, b + 1 + k)) for k in (reach // 2, reach)]
        i, j = map(np.array, zip(*sides, strict=True))
        margin = _ratio(float(s.distance(i, j).min()), cfg.hard_min)
        if b - a < cfg.flash_frames and lively[a - 1] and lively[b + 1]:
            # a brief drop to black right between frames with picture (no fade: the picture jumps there
            # and back) is a dropout when the same picture comes back, like a flash: the pictures right
            # beside the run must differ by a good share of the jump
            into = float(s.distance(np.array([a - 1]), np.array([a]))[0])
            if into >= cfg.hard_min:
                back = float(s.distance(np.array([a - 1]), np.array([b + 1]))[0])
                margin = min(margin, _ratio(back, 0.5 * cfg.flash_return * into))
        lo, hi = _fade_extent(s, a, b, reach)
        found.append(_Candidate((a + b) // 2 + (1 if b > a else 0), "fade", (lo, hi), margin, 5.0))
    return found


def _fade_extent(s: _Series, a: int, b: int, reach: int) -> tuple[int, int]:
    """The frames of a fade around the flat run [a, b]: as far as the picture keeps changing level."""
    n = len(s.mean)
    lo, hi = a, b
    while lo > max(0, a - reach) and abs(s.mean[lo - 1] - s.mean[lo]) + abs(s.spread[lo - 1] - s.spread[lo]) > 0.004:
        lo -= 1
    while (
        hi < min(n - 1, b + reach) and abs(s.mean[hi + 1] - s.mean[hi]) + abs(s.spread[hi + 1] - s.spread[hi]) > 0.004
    ):
        hi += 1
    return lo, hi


@dataclass(frozen=True)
class _Shots:
    """The shots that the accepted hard cuts delimit: first[k] and last[k] are the first and the last
    frame of the shot that holds frame k."""

    first: np.ndarray
    last: np.ndarray

    @classmethod
    def of(cls, cuts: list[_Candidate], n: int) -> _Shots:
        marks = np.zeros(n + 1, dtype=bool)
        marks[[c.frame for c in cuts]] = True
        marks[0] = marks[n] = True
        frames = np.arange(n + 1)
        first = np.maximum.accumulate(np.where(marks, frames, 0))[:n]
        # the next shot's first frame after k (a cut at k itself starts k's shot), minus one
        nxt = np.minimum.accumulate(np.where(marks[1:], frames[1:], n)[::-1])[::-1]
        return cls(first, nxt - 1)

    def clip(self, a: np.ndarray, k: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """a and b moved towards k so that they lie in k's shot: the change at a lag beside a transition
        is measured within the shot beside it (across a hard cut it measures the cut, not the motion,
        and a fast edit puts cuts near dissolves)."""
        return np.maximum(a, self.first[k]), np.minimum(b, self.last[k])


def _gradual(s: _Series, cfg: ShotConfig, shots: _Shots) -> list[_Candidate]:
    n = len(s.luma)
    found: list[_Candidate] = []
    pw = cfg.gradual_pixel_weight
    # a candidate whose margin falls below this is not even a suggestion: its other tests are skipped
    hopeless = float(np.log(cfg.suggest_min / (1 - cfg.suggest_min))) / cfg.gradual_confidence_slope
    for w in cfg.gradual_scales:
        if n < 6 * w + 1:
            continue
        t = np.arange(3 * w, n - 3 * w)
        across = s.distance(t - w, t + w, pw)
        a0, _ = shots.clip(t - 3 * w, t - w, t - w)
        _, b1 = shots.clip(t + w, t + w, t + 3 * w)
        (h0, p0), (h1, p1) = s.parts(a0, t - w), s.parts(t + w, b1)
        # a side that a cut leaves with less than half the lag tells little of the motion there (none at
        # all when the shot starts at t - w): the other side speaks for both
        short0, short1 = (t - w) - a0 < w, b1 - (t + w) < w
        for mine, other in ((h0, h1), (p0, p1)):
            mine[short0 & ~short1] = other[short0 & ~short1]
            other[short1 & ~short0] = mine[short1 & ~short0]
        outside = (1 - pw) * 0.5 * (h0 + h1) + pw * 0.5 * (np.minimum(1.0, 3.0 * p0) + np.minimum(1.0, 3.0 * p1))
        # a comparison across a hard cut sees the cut (kept on its own), not a gradual change
        apart = shots.first[t + w] > t - w
        score = np.where(apart, -np.inf, across - outside)
        slack = np.exp(hopeless)
        # where the camera moves (a pan), the same lag changes the picture beside a transition as much as
        # across it: there the pictures are compared aligned by their best shift (only where the raw
        # comparison changes enough and does not already stand out: aligned distances are never larger)
        aligned = np.zeros(len(t), dtype=bool)
        # (histograms do not move with the camera: the change beside that they show stays)
        floor = (1 - pw) * 0.5 * (h0 + h1)
        moving = np.flatnonzero(
            (across > slack * cfg.gradual_min)
            & ~apart
            & (score <= slack * cfg.gradual_gap)
            & (across - floor > slack * cfg.gradual_gap)
        )

        # every few frames first (the score changes slowly at a coarse scale), then around the hits
        stride = max(1, w // 2)
        lag = (t, w, a0, b1, pw)
        coarse = moving[t[moving] % stride == 0]
        _realign(s, coarse, lag, across, outside, score, aligned)
        passing = (across[coarse] > slack * cfg.gradual_min) & (score[coarse] > slack * cfg.gradual_gap)
        hits = t[coarse[aligned[coarse] & passing]]
        if len(hits):
            close = np.abs(t[moving][:, None] - hits[None, :]).min(axis=1) <= stride
            _realign(s, moving[close & (t[moving] % stride != 0)], lag, across, outside, score, aligned)
        near = (across > slack * cfg.gradual_min) & (score > slack * cfg.gradual_gap)
        for idx in np.flatnonzero(near):
            lo, hi = max(0, idx - w), min(len(t), idx + w + 1)
            if score[idx] < score[lo:hi].max():
                continue  # not the peak of this transition at this scale
            c = int(t[idx])
            margin = _transition_margin(float(across[idx]), float(outside[idx]), cfg)
            if aligned[idx]:  # compared through estimated shifts: the evidence must be clearer
                margin -= float(np.log(cfg.aligned_strictness))
            # the other tests, cheapest first, until the candidate is hopeless; camera motion (the
            # costliest) only where it decides
            unmixed = np.inf  # a middle that is no mix of the ends as they are: retried last, moved
            for test in (_spread_margin, _between_margin, _steady_margin, _camera_margin):
                if min(margin, unmixed) < hopeless or (test is _camera_margin and margin < 0):
                    break
                found_by = test(s, c, w, float(across[idx]), cfg, shots, bool(aligned[idx]))
                if test is _between_margin and found_by < 0 <= margin and not aligned[idx]:
                    unmixed = found_by
                else:
                    margin = min(margin, found_by)
            if unmixed < 0 <= margin:
                # where it decides: the middle of a dissolve between moving shots (a frame of it)
                unmixed = max(unmixed, _moving_mix_margin(s, c, w, cfg))
            margin = min(margin, unmixed)
            if margin < hopeless:
                continue
            found.append(_Candidate(_centre_of_change(s, c, w), "dissolve", (c - w, c + w), margin, float(score[idx])))
    return found


def _realign(s: _Series, idx: np.ndarray, lag: tuple, across, outside, score, aligned) -> None:
    """The gradual comparisons at positions idx (of t, at scale w) redone with the pictures aligned by
    their best shift; where that makes the change stand out more, it replaces them (in place)."""
    t, w, a0, b1, pw = lag
    if not len(idx):
        return
    ti = t[idx]
    pairs = np.concatenate([[ti - w, ti + w], [a0[idx], ti - w], [ti + w, b1[idx]]], axis=1)
    unique, where = np.unique(pairs, axis=1, return_inverse=True)
    d = s.aligned_distance(unique[0], unique[1], pw)[where.ravel()].reshape(3, -1)
    across_al, outside_al = d[0], np.maximum(d[1], d[2])  # the motion explained on both sides
    better = across_al - outside_al > score[idx]
    aligned[idx[better]] = True
    across[idx[better]], outside[idx[better]] = across_al[better], outside_al[better]
    score[idx[better]] = (across_al - outside_al)[better]


def _centre_of_change(s: _Series, c: int, w: int) -> int:
    """Where between c-w and c+w the picture has changed half of its total frame-to-frame change: the
    middle of a transition seen at a coarse scale (motion spreads evenly, a transition does not)."""
    i = np.arange(c - w, c + w)
    steps = s.distance(i, i + 1)
    steps = np.minimum(steps, 3 * np.median(steps))  # a flash inside the window must not pull the centre
    total = steps.sum()
    if total <= 0:
        return c
    return int(c - w + 1 + np.searchsorted(np.cumsum(steps), total / 2))


def _transition_margin(across: float, outside: float, cfg: ShotConfig) -> float:
    return min(
        _ratio(across, cfg.gradual_min),
        _ratio(across, cfg.gradual_ratio * outside),
        _ratio(across - outside, cfg.gradual_gap),
    )


def _spread_margin(
    s: _Series, c: int, w: int, across: float, cfg: ShotConfig, shots: _Shots, aligned: bool = False
) -> float:
    """A gradual transition spreads its change over several frames; a change that one frame carries is
    a hard cut's business (and when the hard-cut tests refused it, e.g. a change of light, so be it)."""
    i = np.arange(c - w, c + w)
    steps = s.distance(i, i + 1, cfg.gradual_pixel_weight)
    # measured above the steady motion (the median step), against the change above the motion beside it
    outside = float(np.median(steps))
    return _ratio(cfg.gradual_step_max * max(across - outside, 1e-6), float(steps.max()) - outside)


def _camera_margin(
    s: _Series, c: int, w: int, across: float, cfg: ShotConfig, shots: _Shots, aligned: bool = False
) -> float:
    """Camera motion is not a transition: when every substantial step between c-w and c+w is mostly a
    shift of the picture (a whip-pan inside a shot, blurred as it is), the change is the camera moving.
    A transition has at least one step that no shift explains (the blend, or the switch of a whip-pan
    from one shot into another)."""
    return _ratio(float(_explained_steps(s, c, w).max()), cfg.motion_share_max)


def _explained_steps(s: _Series, c: int, w: int) -> np.ndarray:
    """motion_explained for the substantial steps (at least half the largest) between c-w and c+w."""
    i = np.arange(c - w, c + w)
    raw = np.abs(s.luma[i] - s.luma[i + 1]).mean(axis=1)
    return s.motion_explained(i[raw >= 0.5 * raw.max()])


def _steady_margin(
    s: _Series, c: int, w: int, across: float, cfg: ShotConfig, shots: _Shots, aligned: bool = False
) -> float:
    """The change holds for every nearby choice of end frames (not a shake or flash at one end)."""
    n = len(s.luma)
    jitter = range(0, max(2, w // 2) + 1)
    pairs = [(c - w - a, c + w + b) for a in jitter for b in jitter if c - w - a >= 0 and c + w + b < n]
    i, j = map(np.array, zip(*pairs, strict=True))
    pw = cfg.gradual_pixel_weight
    dist = s.aligned_distance if aligned else s.distance
    across = dist(i, j, pw).min()
    i0, _ = shots.clip(np.maximum(0, i - 2 * w), i, i)
    _, j1 = shots.clip(j, j, np.minimum(n - 1, j + 2 * w))
    before, after = dist(i0, i, pw).max(), dist(j, j1, pw).max()
    return _transition_margin(float(across), 0.5 * (before + after) * 0.8, cfg)


def _between_margin(
    s: _Series, c: int, w: int, across: float, cfg: ShotConfig, shots: _Shots, aligned: bool = False
) -> float:
    """A dissolve's middle frame is a mix of its ends: frame c of the ends c - w and c + w as they are,
    or some frame between them of the ends each moved onto it by its best shift (`_moving_mix_margin`),
    which is the only test when the candidate was found comparing aligned pictures."""
    if aligned:
        return _moving_mix_margin(s, c, w, cfg)
    residual = s.mix_residual(c - w, c, c + w)
    ends = np.abs(s.luma[c - w] - s.luma[c + w]).mean()
    return _ratio(cfg.mix_max * max(float(ends), 1e-6), float(residual))


def _moving_mix_margin(s: _Series, c: int, w: int, cfg: ShotConfig) -> float:
    """The middle of a dissolve between moving shots: each end moved onto it by its best shift, it is a
    mix of them, and clearly better explained by the mix than by either end alone (a pan's middle frame
    is an end, moved). A short dissolve seen at a coarse scale, or one whose neighbourhood moves unevenly,
    has its middle anywhere in the span: the best frame counts. The ends, each aligned onto the middle,
    must still differ by a gradual change (through the middle frame a motion can be followed twice as
    far as between the ends directly)."""
    pw = cfg.gradual_pixel_weight
    hell = float(s.distance(np.array([c - w]), np.array([c + w]), 0.0)[0])
    best = -np.inf
    middles = np.arange(c - w + 1, c + w)
    for residual, ends, alone in s.aligned_mix_residuals(c - w, middles, c + w):
        if not np.isfinite(residual):
            continue  # too little picture in common
        changed = (1 - pw) * hell + pw * min(1.0, 3.0 * ends)
        best = max(
            best,
            min(
                # (a residual under half a grey level is noise: a middle frame that is an end fails)
                _ratio(cfg.mix_max * ends, residual + 0.002),
                _ratio(cfg.mix_alone_max * alone, residual + 0.002),
                _ratio(changed, cfg.gradual_min),
            ),
        )
    return best


def _same_transition(c: _Candidate, o: _Candidate, reach: int) -> bool:
    """Whether gradual candidate c is kept boundary o seen again: within the largest gradual scale of it,
    except a fade through flat frames next to a hard cut, whose span is measured (not a scale): it is
    the same only when the spans touch (a fixed reach would swallow a real fade or a cut through one
    black frame a few frames from a cut in a fast edit)."""
    if c.kind == "fade" and o.kind == "cut":
        return c.span[0] <= o.span[1] + 1 and o.span[0] <= c.span[1] + 1
    return abs(c.frame - o.frame) <= reach


def _join_dips(s: _Series, kept: list[_Candidate], reach: int) -> list[_Candidate]:
    """A fade out and the fade in that follows it are one transition: two neighbouring boundaries (one at
    least gradual) with the picture dipping to almost flat between them become one fade at the dip."""
    out: list[_Candidate] = []
    for c in kept:
        p = out[-1] if out else None
        if p is not None and c.frame - p.frame <= 2 * reach and "cut" not in (p.kind, c.kind):
            lo, hi = p.span[0], c.span[1]
            between = s.spread[p.frame : c.frame + 1]
            outside = min(s.spread[max(0, lo - reach) : lo + 1].max(), s.spread[hi : hi + reach + 1].max())
            if between.min() < 0.5 * outside and between.max() < 0.7 * outside:  # no picture in between
                dip = p.frame + int(np.argmin(between))
                out[-1] = _Candidate(dip, "fade", (lo, hi), max(p.margin, c.margin), max(p.rank, c.rank))
                continue
        out.append(c)
    return out


def _enforce_min_length(cuts: list[_Candidate], n: int, min_shot_frames: int, edge_min: int):
    """Drop the weakest boundary of any too-short shot until every shot is long enough.

    The first and last shot only need edge_min frames: a brief opening or closing shot is still a
    different shot (PySceneDetect's min_scene_len behaves the same way at the edges). Returns the kept
    and the dropped candidates.
    """
    cuts = sorted(cuts, key=lambda c: c.frame)
    dropped = []
    while True:
        bounds = [0] + [c.frame for c in cuts] + [n]
        last = len(bounds) - 2
        short = [
            k for k in range(last + 1) if bounds[k + 1] - bounds[k] < (edge_min if k in (0, last) else min_shot_frames)
        ]
        if not short or not cuts:
            return cuts, dropped
        k = short[0]
        # shot k lies between cut k-1 (its start) and cut k (its end); drop the weaker existing one
        options = [i for i in (k - 1, k) if 0 <= i < len(cuts)]
        drop = min(options, key=lambda i: (cuts[i].margin, cuts[i].rank))
        dropped.append(cuts.pop(drop))


def _confidence(c: _Candidate, cfg: ShotConfig) -> float:
    if c.kind == "cut":
        z = cfg.confidence_slope * c.margin
    else:
        z = cfg.gradual_confidence_slope * min(c.margin, cfg.gradual_margin_cap)
    return round(float(1 / (1 + np.exp(-z))), 4)


def _boundary(c: _Candidate, cfg: ShotConfig, cap: float = 1.0) -> Boundary:
    return Boundary(int(c.frame), c.kind, (int(c.span[0]), int(c.span[1])), min(cap, _confidence(c, cfg)))


def detect(
    features: np.ndarray, fps: float, config: ShotConfig | None = None, min_shot_frames: int | None = None
) -> Detection:
    """Shot boundaries with their confidence, and suggested cuts, from a (N, FEATURE_SIZE) feature series.

    min_shot_frames overrides the config's robustness minimum (a shot shorter than it loses its weaker
    boundary, which becomes a suggestion).
    """
    cfg = config or ShotConfig()
    n = len(features)
    if features.ndim != 2 or features.shape[1] != FEATURE_SIZE:
        raise ValueError(f"expected {FEATURE_SIZE} features per frame, got shape {features.shape}")
    if n < 3:
        return Detection(n, (), ())
    s = _Series.of(features)
    t = np.arange(1, n)
    jump = np.concatenate([[0.0], s.distance(t - 1, t)])
    calm, busy = _motion_levels(jump, cfg, fps)
    everything = _hard_cuts(s, jump, calm, busy, cfg) + _fades(s, cfg, fps)
    cuts = [c for c in everything if c.margin >= 0]
    everything += _gradual(_without_flashes(s, jump, busy, cfg), cfg, _Shots.of(cuts, n))
    accepted = [c for c in everything if c.margin >= 0]
    # One boundary per transition: hard cuts first (their position is exact), then fades, then the
    # strongest gradual candidate; anything within the largest gradual scale of a kept one is the same
    # transition seen again.
    order = {"cut": 0, "fade": 1, "dissolve": 2}
    reach = max(cfg.gradual_scales)
    kept: list[_Candidate] = []
    for c in sorted(accepted, key=lambda c: (order[c.kind], -c.rank)):
        if c.kind == "cut":
            if all(abs(c.frame - o.frame) > 1 for o in kept):
                kept.append(c)
        elif all(not _same_transition(c, o, reach) for o in kept):
            kept.append(c)
    kept = _join_dips(s, sorted(kept, key=lambda c: c.frame), reach)
    min_frames = cfg.min_shot_frames(fps) if min_shot_frames is None else max(1, min_shot_frames)
    edge_min = min_frames if cfg.min_length_at_edges else min(min_frames, cfg.flash_frames + 1)
    kept, dropped = _enforce_min_length(kept, n, min_frames, edge_min)
    boundaries = tuple(_boundary(c, cfg) for c in kept)
    # near-misses: below the threshold but not far, away from any kept boundary (one per place)
    # (not inside a kept transition: that is the same boundary seen again)
    suggested: list[Boundary] = []
    taken = [(b.span[0] - 1, b.span[1] + 1) for b in boundaries]
    near_misses = [c for c in everything if c.margin < 0] + dropped
    for c in sorted(near_misses, key=lambda c: -c.margin):
        b = _boundary(c, cfg, cap=0.4999)
        if b.confidence < cfg.suggest_min:
            break
        span_reach = 1 if c.kind == "cut" else reach
        if all(not lo <= c.frame <= hi for lo, hi in taken) and all(
            abs(c.frame - o.frame) > span_reach for o in suggested
        ):
            suggested.append(b)
    return Detection(n, boundaries, tuple(sorted(suggested, key=lambda b: b.frame)))


# ------------------------------------------------------------------------------------------ settling
# Progressive detection (chunked preprocessing) runs `detect` over a window of the features as they arrive.
# Every decision about a boundary at frame f reads frames within a bounded distance of f on both sides:
# hard cuts the motion level within context_seconds (+ 3 frames), flashes flash_frames; gradual candidates
# t ± 3w and the steady test ± (3.5w + 1) for w up to 16, moved by at most w to the centre of change; fades
# within context_seconds of their flat run; one kept boundary suppresses others within max(gradual_scales)
# and joins a dip within 2 * max(gradual_scales); short-shot removal looks a few frames further. So a
# boundary more than `settle_frames(fps)` frames from both ends of a window is decided exactly as over the
# whole video (tests/domain/test_shots_settle.py checks it on real footage). The one unbounded reach is a
# flat (black or white) run: a fade is placed in its middle once its end is seen, so a window's settled part
# also stops `settle_frames` before a flat run that reaches the window's end.
# Whoever changes the rules above keeps this true: widen SETTLE_FRAMES when a rule reaches further.
SETTLE_FRAMES = 128


def settle_frames(fps: float, config: ShotConfig | None = None) -> int:
    """Frames on each side of a window within which its boundaries may still change (see above)."""
    cfg = config or ShotConfig()
    return SETTLE_FRAMES + 2 * max(4, int(round(cfg.context_seconds * fps)))


def picture_end(features: np.ndarray, config: ShotConfig | None = None) -> int:
    """The start of the flat (black or white) run the features end with; len(features) if they do not."""
    cfg = config or ShotConfig()
    n = len(features)
    if n == 0:
        return 0
    tail = features[max(0, n - 4096) :]
    flat = _flat(_Series.of(tail), cfg)
    if flat.all() and n > len(tail):
        return picture_end(features[: n - len(tail)], cfg)  # a very long flat run: look further back
    lively = np.flatnonzero(~flat)
    return n - len(tail) + (int(lively[-1]) + 1 if len(lively) else 0)


def detect_cuts(
    features: np.ndarray, fps: float, min_shot_frames: int | None = None, config: ShotConfig | None = None
) -> list[int]:
    """Cut frame indices (first frame of each new shot, 0-based) from a (N, FEATURE_SIZE) feature series."""
    return detect(features, fps, config, min_shot_frames).cuts
