"""The pipeline's stages as data: which state a stage starts from, runs in, ends in, fails to.

The job runner, recovery and `heaters retry` all read this table; the transitions themselves are in
`heaters.domain.states`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from heaters.domain.states import (
    FAILED_CLIP_STATES,
    FAILED_VIDEO_STATES,
    ClipState,
    VideoState,
    check_clip_transition,
    check_video_transition,
)


class Entity(StrEnum):
    VIDEO = "video"
    CLIP = "clip"


@dataclass(frozen=True)
class Stage:
    name: str
    entity: Entity
    ready: str  # the state in which the entity waits for this stage
    running: str
    done: str
    failed: str
    next: str | None  # the stage queued when this one succeeds

    def lock(self, entity_id: int) -> str:
        """One job at a time, and one queued job at most, per (stage, entity)."""
        return f"{self.name}:{entity_id}"

    def can_start_from(self, state: str) -> bool:
        return state in (self.ready, self.running, self.failed)


V, C = VideoState, ClipState
DOWNLOAD = Stage("download", Entity.VIDEO, V.NEW, V.DOWNLOADING, V.DOWNLOADED, V.DOWNLOAD_FAILED, "preprocess")
PREPROCESS = Stage(
    "preprocess", Entity.VIDEO, V.DOWNLOADED, V.PREPROCESSING, V.PREPROCESSED, V.PREPROCESS_FAILED, "detect_scenes"
)
DETECT_SCENES = Stage(
    "detect_scenes",
    Entity.VIDEO,
    V.PREPROCESSED,
    V.DETECTING_SCENES,
    V.SCENES_DETECTED,
    V.DETECT_SCENES_FAILED,
    None,  # clips then wait for a reviewer
)
EXPORT = Stage("export", Entity.CLIP, C.REVIEW_APPROVED, C.EXPORTING, C.EXPORTED, C.EXPORT_FAILED, "keyframes")
KEYFRAMES = Stage("keyframes", Entity.CLIP, C.EXPORTED, C.KEYFRAMING, C.KEYFRAMED, C.KEYFRAME_FAILED, "embed")
EMBED = Stage("embed", Entity.CLIP, C.KEYFRAMED, C.EMBEDDING, C.EMBEDDED, C.EMBEDDING_FAILED, None)

STAGES: dict[str, Stage] = {s.name: s for s in (DOWNLOAD, PREPROCESS, DETECT_SCENES, EXPORT, KEYFRAMES, EMBED)}


# The outcome recorded for a run whose input was refused (bad input): retrying it cannot help, so nobody is
# offered a retry (`services.retry`, the dashboard's Retry button).
REFUSED = "refused"


def stage_waiting_in(entity: Entity, state: str) -> Stage | None:
    """The stage an entity in `state` is waiting for, is running, or has failed (for recovery and retry)."""
    for stage in STAGES.values():
        if stage.entity == entity and state in (stage.ready, stage.running, stage.failed):
            return stage
    return None


def retry_backoff_seconds(attempts: int, base_seconds: int) -> int:
    """Exponential backoff: base, 2×base, 4×base, …"""
    return base_seconds * 2 ** max(0, attempts - 1)


def check_transition(entity: Entity, current: str, target: str) -> None:
    """The state table of `entity` (video or clip) allows `current` -> `target`, or IllegalTransition."""
    if entity is Entity.VIDEO:
        check_video_transition(VideoState(current), VideoState(target))
    else:
        check_clip_transition(ClipState(current), ClipState(target))


def failed_states(entity: Entity) -> frozenset[str]:
    return FAILED_VIDEO_STATES if entity is Entity.VIDEO else FAILED_CLIP_STATES


# Not a stage (no state moves): rewriting a video's export manifest when its groups change after export.
MANIFEST_TASK = "manifest"


def manifest_lock(video_id: int) -> str:
    return f"{MANIFEST_TASK}:{video_id}"


# Not a stage either: one chunk of a long video's preprocessing (`heaters.domain.chunks`), run while the
# video is in `preprocessing`; its runs are recorded under this name with the chunk's id.
CHUNK_TASK = "preprocess_chunk"


def chunk_lock(chunk_id: int) -> str:
    return f"{CHUNK_TASK}:{chunk_id}"
