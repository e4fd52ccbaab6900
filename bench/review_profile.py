"""In-process cost of one review action as the JSON API performs it: CPU, wall time and database round trips.

    python bench/review_profile.py [--rounds 50] [--cprofile]

No HTTP: one reviewer in one thread on an embedded PostgreSQL in a temporary directory, cycling
approve / undo / skip / undo like bench/review.py, through the same service calls the routes make
(the action, the next clip to show, the page state). Round trips are counted in psycopg: every wait for a
server's answer (statements, BEGIN / COMMIT / ROLLBACK, procrastinate's own pool included). Peer:
`SELECT 1` on a pooled connection (the floor of one round trip), measured in the same run.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def prepare(data_dir: Path, videos: int):
    from heaters.adapters.db.models import Clip as ClipRow
    from heaters.adapters.db.models import SourceVideo
    from heaters.config import Settings
    from heaters.domain.timeline import clips_from_cuts
    from heaters.runtime import open_runtime
    from heaters.services.users import create_user

    runtime = open_runtime(Settings(data_dir=data_dir))
    for v in range(videos):
        with runtime.database.sessions.begin() as session:
            video = SourceVideo(
                source=f"v{v}.mp4", title=f"Video {v}", state="scenes_detected", attempts=0, fps=25.0,
                frame_count=250, width=640, height=272,
            )  # fmt: skip
            session.add(video)
            session.flush()
            for s, e in clips_from_cuts(list(range(10, 250, 10)), 250, 1):
                session.add(ClipRow(video_id=video.id, start_frame=s, end_frame=e, state="pending_review", attempts=0))
    reviewer = create_user(runtime.database, "profiler", "profile-password")
    return runtime, reviewer


class RoundTrips:
    """Counts psycopg's waits for a server answer: each is one round trip, whoever sent the query."""

    def __init__(self) -> None:
        import psycopg._cursor_base
        import psycopg.generators

        self.count = 0
        original = psycopg.generators.execute

        def counted(pgconn):
            self.count += 1
            return (yield from original(pgconn))

        psycopg.generators.execute = counted  # commands: BEGIN, COMMIT, ...
        psycopg._cursor_base.execute = counted  # statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=50, help="approve/undo/skip/undo rounds")
    parser.add_argument("--videos", type=int, default=10)
    parser.add_argument("--cprofile", action="store_true", help="print the top functions by cumulative time")
    args = parser.parse_args()

    from heaters.services import review

    with tempfile.TemporaryDirectory(prefix="heaters-bench-profile-") as tmp:
        runtime, reviewer = prepare(Path(tmp) / "data", args.videos)
        trips = RoundTrips()

        def act(clip_id: int, action: str):
            if action == "undo":
                return review.undo_and_show(runtime, reviewer.id)
            return review.act_and_show(runtime, reviewer.id, clip_id, action)

        def ping() -> None:
            with runtime.database.engine.connect() as conn:
                conn.execute(text("SELECT 1")).scalar()

        state = review.next_page(runtime, reviewer.id)
        walls, cpus, counts, pings = [], [], [], []
        profiler = cProfile.Profile() if args.cprofile else None
        for _ in range(args.rounds):
            for action in ("approve", "undo", "skip", "undo"):
                before_trips = trips.count
                cpu0, wall0 = time.thread_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                answer = act(state.clip.id, action)
                if profiler:
                    profiler.disable()
                walls.append(time.perf_counter() - wall0)
                cpus.append(time.thread_time() - cpu0)
                counts.append(trips.count - before_trips)
                state = answer.state
                wall0 = time.perf_counter()
                ping()
                pings.append(time.perf_counter() - wall0)
        runtime.close()

    def ms(values, q=0.5):
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000

    print(f"\none reviewer, in process, {len(walls)} actions (approve/undo/skip/undo); times in ms")
    print(f"{'measure':<34} {'p50':>8} {'p95':>8} {'mean':>8}   {'peer':<18} {'p50':>8}  {'ratio p50':>9}")
    mean_wall = statistics.mean(walls) * 1000
    print(
        f"{'action + next page, wall':<34} {ms(walls):>8.2f} {ms(walls, 0.95):>8.2f} {mean_wall:>8.2f}"
        f"   {'SELECT 1 (pooled)':<18} {ms(pings):>8.2f}  {ms(walls) / ms(pings):>8.1f}x"
    )
    print(
        f"{'action + next page, CPU':<34} {ms(cpus):>8.2f} {ms(cpus, 0.95):>8.2f} {statistics.mean(cpus) * 1000:>8.2f}"
    )
    print(
        f"{'database round trips per action':<34} {statistics.median(counts):>8.0f} {max(counts):>8.0f}"
        f" {statistics.mean(counts):>8.1f}"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
