"""The life cycles of source videos and clips (SPEC §1), each defined once as a table.

Everything that changes a state asks `check_*_transition` first; an illegal change is an error, never a
silent overwrite. A running state may transition to itself: that is a stage resuming after a crash.
"""

from enum import StrEnum

from heaters.domain.errors import IllegalTransition


class VideoState(StrEnum):
    NEW = "new"
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    DOWNLOAD_FAILED = "download_failed"
    PREPROCESSING = "preprocessing"
    PREPROCESSED = "preprocessed"
    PREPROCESS_FAILED = "preprocess_failed"
    DETECTING_SCENES = "detecting_scenes"
    SCENES_DETECTED = "scenes_detected"
    DETECT_SCENES_FAILED = "detect_scenes_failed"


class ClipState(StrEnum):
    PENDING_REVIEW = "pending_review"
    REVIEW_APPROVED = "review_approved"
    REVIEW_SKIPPED = "review_skipped"
    REVIEW_ARCHIVED = "review_archived"
    SUPERSEDED = "superseded"
    EXPORTING = "exporting"
    EXPORTED = "exported"
    EXPORT_FAILED = "export_failed"
    KEYFRAMING = "keyframing"
    KEYFRAMED = "keyframed"
    KEYFRAME_FAILED = "keyframe_failed"
    EMBEDDING = "embedding"
    EMBEDDED = "embedded"
    EMBEDDING_FAILED = "embedding_failed"


V, C = VideoState, ClipState

VIDEO_TRANSITIONS: dict[VideoState, frozenset[VideoState]] = {
    V.NEW: frozenset({V.DOWNLOADING}),
    V.DOWNLOADING: frozenset({V.DOWNLOADING, V.DOWNLOADED, V.DOWNLOAD_FAILED}),
    V.DOWNLOAD_FAILED: frozenset({V.DOWNLOADING}),
    V.DOWNLOADED: frozenset({V.PREPROCESSING}),
    V.PREPROCESSING: frozenset({V.PREPROCESSING, V.PREPROCESSED, V.PREPROCESS_FAILED}),
    V.PREPROCESS_FAILED: frozenset({V.PREPROCESSING}),
    V.PREPROCESSED: frozenset({V.DETECTING_SCENES}),
    V.DETECTING_SCENES: frozenset({V.DETECTING_SCENES, V.SCENES_DETECTED, V.DETECT_SCENES_FAILED}),
    V.DETECT_SCENES_FAILED: frozenset({V.DETECTING_SCENES}),
    V.SCENES_DETECTED: frozenset(),
}

# Review decisions may be revisited (undo, or a skipped clip decided later) only until a later stage
# consumes the clip; from `exporting` on, the only way is forward.
_DECISIONS = frozenset({C.REVIEW_APPROVED, C.REVIEW_SKIPPED, C.REVIEW_ARCHIVED, C.SUPERSEDED})
CLIP_TRANSITIONS: dict[ClipState, frozenset[ClipState]] = {
    C.PENDING_REVIEW: _DECISIONS,
    C.REVIEW_SKIPPED: _DECISIONS - {C.REVIEW_SKIPPED} | {C.PENDING_REVIEW},
    # Back to pending_review / review_skipped: only by undo, restoring exactly the state before.
    C.REVIEW_APPROVED: frozenset({C.PENDING_REVIEW, C.REVIEW_SKIPPED, C.EXPORTING}),
    C.REVIEW_ARCHIVED: frozenset({C.PENDING_REVIEW, C.REVIEW_SKIPPED}),
    C.SUPERSEDED: frozenset({C.PENDING_REVIEW, C.REVIEW_SKIPPED}),
    C.EXPORTING: frozenset({C.EXPORTING, C.EXPORTED, C.EXPORT_FAILED}),
    C.EXPORT_FAILED: frozenset({C.EXPORTING}),
    C.EXPORTED: frozenset({C.KEYFRAMING}),
    C.KEYFRAMING: frozenset({C.KEYFRAMING, C.KEYFRAMED, C.KEYFRAME_FAILED}),
    C.KEYFRAME_FAILED: frozenset({C.KEYFRAMING}),
    C.KEYFRAMED: frozenset({C.EMBEDDING}),
    C.EMBEDDING: frozenset({C.EMBEDDING, C.EMBEDDED, C.EMBEDDING_FAILED}),
    C.EMBEDDING_FAILED: frozenset({C.EMBEDDING}),
    C.EMBEDDED: frozenset(),
}

# Clips a reviewer may still reshape with cut-point operations.
UNDER_REVIEW: frozenset[ClipState] = frozenset({C.PENDING_REVIEW, C.REVIEW_SKIPPED})
# Clips that make up a video's timeline (everything but the audit-trail leftovers).
FAILED_VIDEO_STATES: frozenset[VideoState] = frozenset({V.DOWNLOAD_FAILED, V.PREPROCESS_FAILED, V.DETECT_SCENES_FAILED})
FAILED_CLIP_STATES: frozenset[ClipState] = frozenset({C.EXPORT_FAILED, C.KEYFRAME_FAILED, C.EMBEDDING_FAILED})


def can_transition_video(current: VideoState, target: VideoState) -> bool:
    return target in VIDEO_TRANSITIONS[current]


def can_transition_clip(current: ClipState, target: ClipState) -> bool:
    return target in CLIP_TRANSITIONS[current]


def check_video_transition(current: VideoState, target: VideoState) -> None:
    if not can_transition_video(current, target):
        raise IllegalTransition(f"a video in state '{current}' cannot move to '{target}'")


def check_clip_transition(current: ClipState, target: ClipState) -> None:
    if not can_transition_clip(current, target):
        raise IllegalTransition(f"a clip in state '{current}' cannot move to '{target}'")


# Clips whose exported file exists (a failed keyframe or embedding run keeps it): the library shows them, the
# manifest lists them.
EXPORTED_STATES: frozenset[ClipState] = frozenset(
    {C.EXPORTED, C.KEYFRAMING, C.KEYFRAMED, C.KEYFRAME_FAILED, C.EMBEDDING, C.EMBEDDED, C.EMBEDDING_FAILED}
)
