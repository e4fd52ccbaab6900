"""Review app latency: clip video time-to-first-byte and action round trips, 20 concurrent reviewers.

    python bench/review.py [--reviewers 20] [--rounds 8] [--videos 10]

A real server (uvicorn, one process, started by this script) on 127.0.0.1 with the embedded PostgreSQL
in a temporary data directory; HTTP clients (httpx, one per reviewer, each signed in) in threads.

- Clip TTFB: GET /clips/{id}/video.mp4 until the first body byte. "first" = the clip's first request
  (cut from the all-intra proxy by stream copy, then cached); "cached" = the same clip again.
  Peer: the same clip pre-cut to a file and served by Starlette's StaticFiles from the same server
  (what a plain static file costs), requested right after ours (interleaved).
- Action round trip: POST /api/clips/{id}/actions (approve / skip) and POST /api/undo, each answer
  including the next clip to show (claim + timeline + prefetch list). Peer: GET /health (one
  database ping) on the same server, interleaved: the floor of an HTTP + database round trip.
- Live-update delay: one more page per video listens to the video's live timeline (server-sent events,
  fed by PostgreSQL LISTEN/NOTIFY) during the action phase; for each action, the time from the acting
  reviewer sending it to the first event, on the other page, whose timeline shows its result.
Goals (issues 6, 14): TTFB p95 < 150 ms, action round trip p95 < 50 ms, live update p95 < 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password"
CUT_EVERY = 10  # frames: bikes.mp4 (250 frames) gives 25 clips per video


def serve(data_dir: Path, database_url: str, port: int, peer_dir: Path) -> None:
    """The server process: the real app plus a static mount of pre-cut clips (the peer)."""
    import uvicorn
    from fastapi.staticfiles import StaticFiles

    from heaters.config import Settings
    from heaters.runtime import open_runtime
    from heaters.web.app import create_app

    runtime = open_runtime(Settings(data_dir=data_dir, database_url=database_url))
    app = create_app(runtime)
    app.mount("/peer", StaticFiles(directory=peer_dir), name="peer")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=2)


def prepare(data_dir: Path, peer_dir: Path, videos: int, reviewers: int) -> tuple[str, list[tuple[int, int, int]]]:
    """Embedded database, proxies in storage, videos with clips, reviewer accounts, pre-cut peer files."""
    from tests.adapters.media_helpers import make_proxy

    from heaters.adapters.db.models import Clip as ClipRow
    from heaters.adapters.db.models import SourceVideo
    from heaters.adapters.media.clip import cut_clip
    from heaters.adapters.sample_media import fetch
    from heaters.config import Settings
    from heaters.domain.storage_keys import proxy_key
    from heaters.domain.timeline import clips_from_cuts
    from heaters.runtime import open_runtime
    from heaters.services.users import create_user

    runtime = open_runtime(Settings(data_dir=data_dir))
    proxy = make_proxy(fetch("bikes.mp4"), data_dir / "bikes_proxy.mp4")
    frames = 250
    clips: list[tuple[int, int, int]] = []
    for v in range(videos):
        with runtime.database.sessions.begin() as session:
            video = SourceVideo(
                source=f"bikes-{v}.mp4", title=f"Bikes {v}", state="scenes_detected", attempts=0, fps=25.0,
                frame_count=frames, width=640, height=272,
            )  # fmt: skip
            session.add(video)
            session.flush()
            video.proxy_key = proxy_key(video.id)
            rows = [
                ClipRow(video_id=video.id, start_frame=s, end_frame=e, state="pending_review", attempts=0)
                for s, e in clips_from_cuts(list(range(CUT_EVERY, frames, CUT_EVERY)), frames, 1)
            ]
            session.add_all(rows)
            session.flush()
            clips += [(r.id, r.start_frame, r.end_frame) for r in rows]
            video_id = video.id
        runtime.storage.put_file(proxy_key(video_id), proxy)
    for clip_id, start, end in clips:
        cut_clip(proxy, start, end, peer_dir / f"{clip_id}.mp4")
    for i in range(reviewers):
        create_user(runtime.database, f"reviewer{i}", PASSWORD)
    url = runtime.database.libpq_url
    runtime.close()
    return url, clips


def signed_in_client(base: str, name: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=30)
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)
    response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert response.status_code == 303, response.text
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
    return client, token


def ttfb(client: httpx.Client, url: str) -> float:
    start = time.perf_counter()
    with client.stream("GET", url) as response:
        assert response.status_code == 200, (url, response.status_code)
        chunks = response.iter_raw()
        next(chunks)
        elapsed = time.perf_counter() - start
        for _ in chunks:
            pass
    return elapsed


def timed(call) -> float:
    start = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.text
    return elapsed


def run_parallel(workers: list) -> None:
    errors: list[BaseException] = []

    def guarded(work) -> None:
        try:
            work()
        except BaseException as exc:  # surfaced below: a failed client must fail the benchmark
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=8, help="approve/undo/skip/undo rounds per reviewer")
    parser.add_argument("--videos", type=int, default=10)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=400,
        help="mean pause between one reviewer's requests (a fast human: ~2-3 keys/s); 0 = saturation test",
    )
    parser.add_argument("--serve", nargs=3, metavar=("DATA_DIR", "DATABASE_URL", "PEER_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), args.serve[1], args.port, Path(args.serve[2]))
        return

    with tempfile.TemporaryDirectory(prefix="heaters-bench-review-") as tmp:
        data_dir, peer_dir = Path(tmp) / "data", Path(tmp) / "peer"
        peer_dir.mkdir(parents=True)
        print(f"preparing {args.videos} videos x {250 // CUT_EVERY} clips, {args.reviewers} reviewers…", flush=True)
        database_url, clips = prepare(data_dir, peer_dir, args.videos, args.reviewers)
        server = subprocess.Popen(
            [sys.executable, __file__, "--port", str(args.port), "--serve", str(data_dir), database_url, str(peer_dir)]
        )
        base = f"http://127.0.0.1:{args.port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.1)
            results = measure(
                base, clips, args.reviewers, args.rounds, server.pid, args.think_ms / 1000, args.videos, database_url
            )
        finally:
            server.terminate()
            server.wait(timeout=20)
    report(results, args)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report the server's CPU cost per action."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Watcher:
    """A page showing one video: reads its live timeline stream and notes when each clip state was seen."""

    def __init__(self, base: str, video_id: int) -> None:
        self.client, _ = signed_in_client(base, "reviewer0")
        self.video_id = video_id
        self.events: list[tuple[float, dict[int, str]]] = []
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        url = f"/api/review/videos/{self.video_id}/live"
        while not self.stopping.is_set():
            try:
                with self.client.stream("GET", url, timeout=None) as response:
                    event = None
                    for line in response.iter_lines():
                        if line.startswith("event:"):
                            event = line[6:].strip()
                        elif line.startswith("data:") and event == "timeline":
                            now = time.perf_counter()
                            data = json.loads(line[5:])
                            self.events.append((now, {c["id"]: c["state"] for c in data["timeline"]}))
                            self.connected.set()
                        if self.stopping.is_set():
                            return
            except httpx.HTTPError:
                if self.stopping.is_set():
                    return
                time.sleep(0.1)

    def seen(self, clip_id: int, state: str, since: float) -> float | None:
        for at, states in list(self.events):
            if at >= since and states.get(clip_id) == state:
                return at
        return None

    def stop(self) -> None:
        self.stopping.set()
        self.client.close()
        self.thread.join(timeout=5)


def sessions_opened(database_url: str) -> int:
    """Connections ever opened to the benchmark's database (PostgreSQL's own count, flushed within a second)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]


def measure(
    base: str, clips, reviewers: int, rounds: int, server_pid: int, think: float, videos: int, database_url: str
) -> dict[str, list[float]]:
    clients = [signed_in_client(base, f"reviewer{i}") for i in range(reviewers)]
    rng = random.Random(7)

    def pause() -> None:  # a reviewer watches the clip / decides between key presses
        if think:
            time.sleep(think * rng.uniform(0.5, 1.5))

    results: dict[str, list[float]] = {k: [] for k in ("first", "cached", "peer_file", "action", "peer_health", "live")}
    sent: list[tuple[int, int, str, float]] = []  # (video, clip, state after the action, when it was sent)
    lock = threading.Lock()

    # 1. clip video TTFB: each reviewer takes its share of distinct clips, all reviewers at once.
    def fetch_clips(index: int) -> None:
        client, _ = clients[index]
        mine = clips[index::reviewers]
        local = {k: [] for k in results}
        for clip_id, start, end in mine:
            pause()
            local["first"].append(ttfb(client, f"/clips/{clip_id}/video.mp4?v={start}-{end}"))
            local["peer_file"].append(ttfb(client, f"/peer/{clip_id}.mp4"))
            local["cached"].append(ttfb(client, f"/clips/{clip_id}/video.mp4?v={start}-{end}"))
        with lock:
            for k, v in local.items():
                results[k] += v

    run_parallel([lambda i=i: fetch_clips(i) for i in range(reviewers)])

    # 2. action round trips: approve, undo, skip, undo, … each answer carries the next clip to show.
    def act(index: int) -> None:
        client, token = clients[index]
        headers = {"X-CSRF-Token": token, "Accept": "application/json"}
        state = client.get("/api/review/next").json()
        local_actions, local_peer, local_sent = [], [], []
        for _ in range(rounds):
            for action in ("approve", "undo", "skip", "undo"):
                pause()
                clip = state["clip"]
                start = time.perf_counter()
                if action == "undo":
                    response = client.post("/api/undo", headers=headers)
                else:
                    url = f"/api/clips/{clip['id']}/actions"
                    response = client.post(url, json={"action": action}, headers=headers)
                local_actions.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
                after = {"approve": "review_approved", "skip": "review_skipped"}.get(action)
                if after is None:  # undo: the answer shows the clip it restored
                    restored = response.json()["state"]["clip"]
                    local_sent.append((restored["video_id"], restored["id"], restored["state"], start))
                else:
                    local_sent.append((clip["video_id"], clip["id"], after, start))
                state = response.json()["state"]
                local_peer.append(timed(lambda: client.get("/health")))
        with lock:
            results["action"] += local_actions
            results["peer_health"] += local_peer
            sent.extend(local_sent)

    watchers = [Watcher(base, video_id) for video_id in range(1, videos + 1)]  # a fresh database: ids 1…n
    for w in watchers:
        w.connected.wait(10)
    time.sleep(1.5)  # connection counts are flushed about once a second
    sessions_before = sessions_opened(database_url)
    cpu_before = cpu_seconds(server_pid)
    run_parallel([lambda i=i: act(i) for i in range(reviewers)])
    results["server_cpu_per_request"] = [
        (cpu_seconds(server_pid) - cpu_before) / (len(results["action"]) + len(results["peer_health"]))
    ]
    time.sleep(1.5)  # the last events
    results["sessions_opened"] = [sessions_opened(database_url) - sessions_before - 1]  # not our own
    by_video = {w.video_id: w for w in watchers}
    missed = 0
    for video_id, clip_id, after, at in sent:
        watcher = by_video.get(video_id)
        seen = watcher.seen(clip_id, after, at) if watcher else None
        if seen is None:
            missed += 1
        else:
            results["live"].append(seen - at)
    results["live_missed"] = [missed]
    for w in watchers:
        w.stop()
    for client, _ in clients:
        client.close()
    return results


def report(results: dict[str, list[float]], args) -> None:
    def row(name, ours, peer, peer_name, goal):
        o50, o95, p50, p95 = pct(ours, 0.5), pct(ours, 0.95), pct(peer, 0.5), pct(peer, 0.95)
        ok = "yes" if o95 < goal else "NO"
        print(
            f"{name:<34} {len(ours):>5} {o50:>8.1f} {o95:>8.1f}   {peer_name:<22} {p50:>8.1f} {p95:>8.1f}"
            f" {o95 / p95:>7.2f}x   <{goal} ms: {ok}"
        )

    print()
    pacing = f"each pausing ~{args.think_ms:.0f} ms between requests" if args.think_ms else "no pauses (saturation)"
    print(
        f"{args.reviewers} concurrent reviewers ({pacing}), {args.videos} videos, 127.0.0.1, "
        "one uvicorn process; times in ms"
    )
    print(f"{'measure':<34} {'n':>5} {'p50':>8} {'p95':>8}   {'peer':<22} {'p50':>8} {'p95':>8} {'p95 ratio':>8}")
    row("clip TTFB, first request (cut)", results["first"], results["peer_file"], "static file (pre-cut)", 150)
    row("clip TTFB, cached", results["cached"], results["peer_file"], "static file (pre-cut)", 150)
    row("action round trip (+ next clip)", results["action"], results["peer_health"], "GET /health (db ping)", 50)
    live = results["live"]
    print(
        f"{'live update: key → other page (SSE)':<34} {len(live):>5} {pct(live, 0.5):>8.1f} {pct(live, 0.95):>8.1f}"
        f"   (no peer; {results['live_missed'][0]} actions not seen)"
        f"   <1000 ms: {'yes' if pct(live, 0.95) < 1000 else 'NO'}"
    )
    print(
        f"(mean action {statistics.mean(results['action']) * 1000:.1f} ms; server CPU per request in the action"
        f" phase, actions and pings together: {results['server_cpu_per_request'][0] * 1000:.1f} ms;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs;"
        f" database connections opened in the action phase: {results['sessions_opened'][0]})"
    )


if __name__ == "__main__":
    main()
