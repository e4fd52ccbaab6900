"""Rich progress bars that follow videos through the pipeline (`heaters ingest --wait`, `heaters status`)."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from heaters.domain.stages import DETECT_SCENES, DOWNLOAD, PREPROCESS
from heaters.domain.states import FAILED_VIDEO_STATES, VideoState
from heaters.runtime import Runtime
from heaters.services.dashboard import list_videos

# Each video stage is a third of the way to review-ready.
_STAGE_ORDER = [DOWNLOAD, PREPROCESS, DETECT_SCENES]
_FINAL = {VideoState.SCENES_DETECTED, *FAILED_VIDEO_STATES}


def overall_fraction(state: str, progress: float | None) -> float:
    if state == VideoState.SCENES_DETECTED:
        return 1.0
    for index, stage in enumerate(_STAGE_ORDER):
        if state == stage.ready:
            return index / len(_STAGE_ORDER)
        if state in (stage.running, stage.failed):
            return (index + (progress or 0.0)) / len(_STAGE_ORDER)
    return 0.0


def progress_bars(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[state]}"),
        console=console,
    )


def follow_videos(runtime: Runtime, video_ids: list[int], *, console: Console, quiet: bool = False) -> None:
    """Block until every video is review-ready or failed, drawing a bar per video."""
    with progress_bars(console) as bars:
        if quiet:
            bars.stop()
        tasks = {vid: bars.add_task(f"video {vid}", total=1.0, state="") for vid in video_ids}
        while True:
            videos = list_videos(runtime, video_ids=video_ids)
            for video in videos:
                label = video.state if not video.last_error else f"{video.state}: {video.last_error[:80]}"
                bars.update(
                    tasks[video.id],
                    completed=overall_fraction(video.state, video.progress),
                    description=f"{video.id} {video.title[:40]}",
                    state=label,
                )
            # Done when every video is review-ready or failed for good (a failure being retried is not).
            if all(v.state in _FINAL and "retrying" not in (v.last_error or "") for v in videos):
                return
            time.sleep(0.5)
