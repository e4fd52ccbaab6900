"""Throughput of the pipeline with 1 vs 2 worker processes on the same batch of videos.

Each run gets its own data directory (embedded PostgreSQL + local storage), ingests the same batch of
real footage, approves every clip as soon as it is ready, and measures the wall time until every clip is
embedded. Usage: python bench/workers.py [--copies N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from heaters.adapters.db.models import Clip, SourceVideo
from heaters.adapters.sample_media import DEFAULT_CACHE, fetch
from heaters.config import Settings
from heaters.runtime import open_runtime
from heaters.services import review
from heaters.services.ingest import submit_source
from heaters.services.users import create_user

SOURCES = ("bikes.mp4", "Megamind.avi", "bigbuckbunny.mp4", "carphone_pristine.mp4", "vtest.avi", "tree.avi")


def run(workers: int, copies: int) -> tuple[float, int, int]:
    root = Path(tempfile.mkdtemp(prefix="heaters-bw-", dir="/tmp"))
    settings = Settings(data_dir=root / "data", allowed_roots=[DEFAULT_CACHE, root], export_grace_seconds=0)
    runtime = open_runtime(settings)
    reviewer = create_user(runtime.database, "bench", "password-1")
    env = {
        **os.environ,
        "HEATERS_DATA_DIR": str(settings.data_path),
        "HEATERS_ALLOWED_ROOTS": json.dumps([str(DEFAULT_CACHE), str(root)]),
        "HEATERS_EXPORT_GRACE_SECONDS": "0",
    }
    sources = [fetch(name) for name in SOURCES]
    for copy in range(copies):
        for source in sources:
            target = source if copy == 0 else root / f"copy{copy}-{source.name}"
            if copy:
                shutil.copy(source, target)
            submit_source(runtime, str(target), force=True)
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", "from heaters.cli import main; main()", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        while True:
            state = review.next_page(runtime, reviewer.id)
            while state.clip is not None:
                state = review.act_and_show(runtime, reviewer.id, state.clip.id, "approve").state
            with runtime.database.sessions() as session:
                videos = session.scalars(select(SourceVideo.state)).all()
                clips = session.scalars(select(Clip.state).where(Clip.state != "superseded")).all()
            if set(videos) <= {"scenes_detected", "download_failed", "preprocess_failed"} and clips:
                if set(clips) <= {"embedded", "export_failed", "keyframe_failed", "embedding_failed"}:
                    break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=60)
        runtime.close()
    return elapsed, len(videos), len(clips)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=1, help="How many times to ingest the sample batch.")
    args = parser.parse_args()
    results = {n: run(n, args.copies) for n in (1, 2)}
    one, two = results[1][0], results[2][0]
    print(f"{'workers':>8} {'videos':>7} {'clips':>6} {'wall s':>8} {'videos/min':>11}")
    for n, (elapsed, videos, clips) in results.items():
        print(f"{n:>8} {videos:>7} {clips:>6} {elapsed:>8.1f} {60 * videos / elapsed:>11.2f}")
    print(f"speed-up with 2 workers: {one / two:.2f}x (2 cores on this machine)")


if __name__ == "__main__":
    main()
