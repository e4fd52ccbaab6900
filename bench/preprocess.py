"""Benchmark: our one-pass preprocessing vs the FFmpeg command line doing the same work.

Input: a >= 30 s 1920x1080 H.264 + AAC file built from real footage (Big Buck Bunny looped, then the
bikes clip padded to 1080p with silence), cached in ~/.cache/heaters-bench (never committed).

Measured in the same run, interleaved round by round (the CPU is shared, so only ratios mean much):
- ours: `heaters.adapters.media.preprocess.preprocess` (master + proxy + features from one decode);
- (a) ONE `ffmpeg` command writing the same master and proxy with the same settings (rendered from
  `heaters.domain.profiles`) plus a 32x18 RGB analysis output, from one decode;
- (b) three separate `ffmpeg` passes: master, proxy, and a detection decode (32x18 RGB).

Usage: python bench/preprocess.py [--rounds N] [--crf N]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from heaters.adapters.media.preprocess import preprocess
from heaters.adapters.media.probe import probe
from heaters.adapters.sample_media import fetch
from heaters.domain.profiles import DEFAULT_PROXY_CRF, ffmpeg_output_args, master_profile, proxy_profile

CACHE = Path.home() / ".cache" / "heaters-bench"
INPUT_NAME = "bench_1080p_31s.mp4"
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
# The peer's stand-in for detection features: a tiny RGB picture per frame (cheap, like ours).
ANALYSIS_WIDTH, ANALYSIS_HEIGHT = 32, 18


def build_input() -> Path:
    target = CACHE / INPUT_NAME
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    bunny, bikes = fetch("bigbuckbunny.mp4"), fetch("bikes.mp4")
    partial = target.with_suffix(".partial.mp4")
    graph = (
        "[0:v]scale=1920:1080:flags=bicubic,setsar=1,fps=25,format=yuv420p[v0];"
        "[1:v]scale=1920:816:flags=bicubic,pad=1920:1080:0:132,setsar=1,fps=25,format=yuv420p[v1];"
        "[0:a]aformat=sample_rates=48000:channel_layouts=stereo[a0];"
        "[2:a]aformat=sample_rates=48000:channel_layouts=stereo[a1];"
        "[v0][a0][v1][a1]concat=n=2:v=1:a=1[v][a]"
    )
    subprocess.run(
        [FFMPEG, "-v", "error", "-y", "-stream_loop", "3", "-i", str(bunny), "-i", str(bikes)]
        + ["-f", "lavfi", "-t", "10", "-i", "anullsrc=r=48000:cl=stereo", "-filter_complex", graph]
        + ["-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18"]
        + ["-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", str(partial)],
        check=True,
    )
    partial.rename(target)
    return target


def analysis_args() -> list[str]:
    return ["-map", "0:v:0", "-vf", f"scale={ANALYSIS_WIDTH}:{ANALYSIS_HEIGHT}", "-pix_fmt", "rgb24", "-f", "rawvideo"]


def peer_one_command(source: Path, out: Path, crf: int) -> list[str]:
    return (
        [FFMPEG, "-v", "error", "-y", "-i", str(source)]
        + ffmpeg_output_args(master_profile(), with_audio=True)
        + [str(out / "master.mkv")]
        + ffmpeg_output_args(proxy_profile(crf=crf), with_audio=True)
        + [str(out / "proxy.mp4")]
        + analysis_args()
        + [str(out / "features.rgb")]
    )


def peer_three_passes(source: Path, out: Path, crf: int) -> list[list[str]]:
    head = [FFMPEG, "-v", "error", "-y", "-i", str(source)]
    return [
        head + ffmpeg_output_args(master_profile(), with_audio=True) + [str(out / "master.mkv")],
        head + ffmpeg_output_args(proxy_profile(crf=crf), with_audio=True) + [str(out / "proxy.mp4")],
        head + analysis_args() + [str(out / "features.rgb")],
    ]


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) and its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_method(name: str, source: Path, out: Path, crf: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds). CPU time is the steadier figure on a shared, oversubscribed machine."""
    started, cpu_started = time.perf_counter(), cpu_seconds()
    if name == "ours":
        preprocess(source, out, proxy_crf=crf)
    elif name == "a":
        subprocess.run(peer_one_command(source, out, crf), check=True)
    else:
        for command in peer_three_passes(source, out, crf):
            subprocess.run(command, check=True)
    return time.perf_counter() - started, cpu_seconds() - cpu_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--crf", type=int, default=DEFAULT_PROXY_CRF)
    options = parser.parse_args()

    source = build_input()
    info = probe(source)
    print(
        f"input: {source} {info.width}x{info.height} {float(info.average_rate):.3f} fps "
        f"{info.duration_seconds:.1f} s, {info.frame_count_estimate} frames, audio={info.audio_codec}"
    )
    print(f"peer (a): {' '.join(peer_one_command(source, Path('OUT'), options.crf))}")

    times: dict[str, list[float]] = {"ours": [], "a": [], "b": []}
    cpu: dict[str, list[float]] = {"ours": [], "a": [], "b": []}
    with tempfile.TemporaryDirectory(prefix="heaters-bench-") as tmp:
        work = Path(tmp)
        for round_number in range(options.rounds):
            for name in ("ours", "a", "b") if round_number % 2 == 0 else ("b", "a", "ours"):
                out = work / name
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                seconds, cpu_used = run_method(name, source, out, options.crf)
                times[name].append(seconds)
                cpu[name].append(cpu_used)
                sizes = {p.name: p.stat().st_size for p in out.iterdir()}
                print(
                    f"  round {round_number + 1} {name:>4}: {seconds:7.2f} s wall {cpu_used:7.2f} s CPU  {sizes}",
                    flush=True,
                )

    duration = info.duration_seconds
    labels = {
        "ours": "ours: one pass (PyAV)",
        "a": "(a) one ffmpeg command, same settings",
        "b": "(b) three ffmpeg passes",
    }
    ours_wall, ours_cpu = statistics.median(times["ours"]), statistics.median(cpu["ours"])
    print()
    header = f"{'method':40} {'wall s':>8} {'realtime x':>11} {'ours/this wall':>15} {'CPU s':>8} {'ours/this CPU':>14}"
    print(header)
    for key, label in labels.items():
        wall, used = statistics.median(times[key]), statistics.median(cpu[key])
        print(
            f"{label:40} {wall:8.2f} {duration / wall:11.2f} {ours_wall / wall:15.3f}"
            f" {used:8.2f} {ours_cpu / used:14.3f}"
        )
    print(f"(medians of {options.rounds} interleaved rounds; input {duration:.1f} s of 1080p25)")
    print("all runs, wall s: " + ", ".join(f"{k}={[round(t, 1) for t in v]}" for k, v in times.items()))
    print("all runs, CPU s:  " + ", ".join(f"{k}={[round(t, 1) for t in v]}" for k, v in cpu.items()))


if __name__ == "__main__":
    main()
