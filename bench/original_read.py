"""Benchmark: how a worker should read an original stored in S3 for preprocessing.

(a) download: copy the object to the worker's scratch (boto3's parallel ranged GETs), then run the
    one-pass preprocess on the local file — what `pipeline.stages.preprocess` does;
(b) stream: run the same pass with FFmpeg reading a presigned URL over HTTP (byte ranges, no copy).

Input: a 1920x1080 H.264 + AAC file built from real footage (Big Buck Bunny, scaled and looped), cached in
~/.cache/heaters-bench (never committed), stored in moto's S3 server on 127.0.0.1. Measured in the same
run, interleaved round by round, alternating which goes first (the CPU is shared, so compare the two
columns, not absolute times).

The stream variant calls the preprocess module's internals with a URL (its public entry point takes
local files only, on purpose: originals are user-supplied files and are opened from local files only).

Usage: python bench/original_read.py [--rounds N] [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

CACHE = Path.home() / ".cache" / "heaters-bench"
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"


def build_input(seconds: int) -> Path:
    from heaters.adapters.sample_media import fetch

    target = CACHE / f"original_1080p_{seconds}s.mp4"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.mp4")
    subprocess.run(
        [FFMPEG, "-v", "error", "-y", "-stream_loop", "-1", "-i", str(fetch("bigbuckbunny.mp4")), "-t", str(seconds)]
        + ["-vf", "scale=1920:1080:flags=bicubic,setsar=1", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18"]
        + ["-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", str(partial)],
        check=True,
    )
    partial.rename(target)
    return target


class _UrlSource(str):
    """A URL where the preprocess internals expect a Path (they only use `str()` and `.name`)."""

    name = "original.mp4"


def run_download(storage, key: str, work: Path) -> dict:
    from heaters.adapters.media.preprocess import preprocess

    started = time.perf_counter()
    local = storage.download_to(key, work / "original.mp4")
    downloaded = time.perf_counter()
    result = preprocess(local, work / "out")
    done = time.perf_counter()
    return {
        "fetch": downloaded - started,
        "pass": done - downloaded,
        "total": done - started,
        "frames": result.frame_count,
    }


def run_stream(storage, key: str, work: Path) -> dict:
    import av

    from heaters.adapters.media import preprocess as pp
    from heaters.adapters.media.inputs import HTTP_OPTIONS
    from heaters.adapters.media.probe import MediaLimits, _probe_open
    from heaters.domain.profiles import master_profile, proxy_profile

    started = time.perf_counter()
    url = _UrlSource(storage.url(key))
    with av.open(url, options=HTTP_OPTIONS) as container:
        info = _probe_open(url, container, MediaLimits())
    probed = time.perf_counter()
    out = work / "out"
    out.mkdir(parents=True)
    master, proxy = master_profile(), proxy_profile()
    temp = {"master": out / "master.mkv", "proxy": out / "proxy.mp4", "features": out / "features.npy"}
    stats = pp._one_pass(url, info, master, proxy, temp, None)
    done = time.perf_counter()
    return {"fetch": probed - started, "pass": done - probed, "total": done - started, "frames": stats.frame_count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=8, help="length of the 1080p input")
    args = parser.parse_args()

    from moto.server import ThreadedMotoServer

    from heaters.adapters.storage import S3Storage

    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ.setdefault(name, value)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    source = build_input(args.seconds)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        storage = S3Storage(f"bench-{uuid.uuid4().hex[:8]}", endpoint_url=f"http://{host}:{port}")
        storage.ensure_bucket()
        key = "originals/1/original.mp4"
        storage.put_file(key, source)
        results: dict[str, list[dict]] = {"download": [], "stream": []}
        variants = [("download", run_download), ("stream", run_stream)]
        for round_number in range(args.rounds):
            # Alternate which goes first: on a shared CPU the load drifts within a round.
            for name, run in variants if round_number % 2 == 0 else variants[::-1]:
                work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
                try:
                    results[name].append(run(storage, key, work))
                finally:
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        server.stop()

    size_mb = source.stat().st_size / 1e6
    frames = args.seconds * 25
    print(f"input: {source.name}, 1920x1080, {size_mb:.1f} MB, ~{frames} frames; {args.rounds} rounds; median s")
    print(f"load average: {open('/proc/loadavg').read().split()[:3]}")
    print(f"{'variant':<10} {'fetch/probe':>12} {'pass':>8} {'total':>8} {'frames':>7} {'scratch for input':>18}")
    medians = {}
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("fetch", "pass", "total")}
        medians[name] = med
        scratch = f"{size_mb:.1f} MB" if name == "download" else "0 MB"
        frames_out = "/".join(sorted({str(r["frames"]) for r in runs}))
        print(
            f"{name:<10} {med['fetch']:>12.2f} {med['pass']:>8.2f} {med['total']:>8.2f} {frames_out:>7} {scratch:>18}"
        )
    ratio = medians["download"]["total"] / medians["stream"]["total"]
    print(f"download total / stream total = {ratio:.2f}")
    throughput = size_mb / medians["download"]["fetch"] if medians["download"]["fetch"] else float("inf")
    print(f"download throughput from the store: {throughput:.0f} MB/s")


if __name__ == "__main__":
    main()
