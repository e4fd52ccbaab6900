"""A video's timeline: MECE clips on the proxy's frame grid, and the cut-point operations as plans.

Frames are integers on the proxy's frame grid and a clip covers the half-open range [start, end). A
video's timeline is the tuple of its active (non-superseded) clips sorted by start; together they cover
[0, total_frames) with no gap and no overlap (MECE).

Every cut operation (split, merge, move) is "supersede some clips, create new ones" and never resizes a
clip in place: the audit trail keeps every clip that ever existed, and undo is uniformly "supersede the
created clips, restore the superseded ones". The functions here only decide; the unit of work applies a
`CutPlan` in one transaction and records an `AppliedCut` (with the ids the database assigned) for undo.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from heaters.domain.errors import BadInput, HeatersError, Refused
from heaters.domain.states import UNDER_REVIEW, ClipState, check_clip_transition

Span = tuple[int, int]


class MeceViolation(HeatersError):
    """Spans that do not cover the video exactly once: a bug to stop before commit, never user input."""


# How a refusal names a clip's state, so the message reads "clip 7 is already exported".
_STATE_PHRASES: dict[ClipState, str] = {
    ClipState.PENDING_REVIEW: "waiting for review",
    ClipState.REVIEW_APPROVED: "already approved",
    ClipState.REVIEW_SKIPPED: "skipped",
    ClipState.REVIEW_ARCHIVED: "archived",
    ClipState.SUPERSEDED: "replaced by a cut operation",
    ClipState.EXPORTING: "being exported",
    ClipState.EXPORTED: "already exported",
    ClipState.EXPORT_FAILED: "in a failed export (retry the export instead)",
    ClipState.KEYFRAMING: "already exported",
    ClipState.KEYFRAMED: "already exported",
    ClipState.KEYFRAME_FAILED: "already exported",
    ClipState.EMBEDDING: "already exported",
    ClipState.EMBEDDED: "already exported",
    ClipState.EMBEDDING_FAILED: "already exported",
}


def describe_state(state: ClipState) -> str:
    """A clip's state as a reviewer would say it, to follow "the clip is ..."."""
    return _STATE_PHRASES[state]


@dataclass(frozen=True)
class Clip:
    """The view of one clip of a video that the timeline and the review actions decide on."""

    id: int
    start: int
    end: int
    state: ClipState
    group_id: int | None = None

    @property
    def frames(self) -> int:
        return self.end - self.start

    @property
    def span(self) -> Span:
        return (self.start, self.end)


@dataclass(frozen=True)
class CutPlan:
    """What a cut operation (or its undo) changes: clips to supersede, new spans, superseded clips to bring
    back. New clips start in `pending_review`; restored clips return to `restore_states` (same order as
    `restore`), the states they had before they were superseded."""

    retire: tuple[int, ...] = ()
    create: tuple[Span, ...] = ()
    restore: tuple[int, ...] = ()
    restore_states: tuple[ClipState, ...] = ()

    def __post_init__(self) -> None:
        if len(self.restore) != len(self.restore_states):
            raise ValueError("a CutPlan needs one restore state per restored clip")


@dataclass(frozen=True)
class AppliedCut:
    """What the unit of work recorded after applying a cut plan: the ids it superseded (with the states
    they had, so undo restores them exactly) and the ids the database gave the created clips."""

    retired: tuple[int, ...]
    created: tuple[int, ...]
    retired_states: tuple[ClipState, ...]

    def __post_init__(self) -> None:
        if len(self.retired) != len(self.retired_states):
            raise ValueError("an AppliedCut needs one state per retired clip")

    def to_payload(self) -> dict[str, Any]:
        """JSON-ready form for the audit event."""
        return {
            "retired": list(self.retired),
            "created": list(self.created),
            "retired_states": [str(s) for s in self.retired_states],
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> AppliedCut:
        return cls(
            retired=tuple(int(i) for i in payload["retired"]),
            created=tuple(int(i) for i in payload["created"]),
            retired_states=tuple(ClipState(s) for s in payload["retired_states"]),
        )


def record_applied(timeline: Sequence[Clip], plan: CutPlan, new_ids: Sequence[int]) -> AppliedCut:
    """The `AppliedCut` to store after applying a forward `plan` to `timeline` (the timeline before)."""
    by_id = {c.id: c for c in timeline}
    return AppliedCut(
        retired=plan.retire,
        created=tuple(new_ids),
        retired_states=tuple(by_id[i].state for i in plan.retire),
    )


# --- MECE -------------------------------------------------------------------------------------------


def check_mece(spans: Sequence[Span], total_frames: int) -> None:
    """Raise `MeceViolation` unless `spans` cover [0, total_frames) exactly once with non-empty spans."""
    if total_frames < 1:
        raise MeceViolation(f"a video needs at least one frame, got {total_frames}")
    ordered = sorted(spans)
    if not ordered:
        raise MeceViolation("a video needs at least one clip")
    covered_to = 0
    for start, end in ordered:
        if start < 0 or end > total_frames:
            raise MeceViolation(f"clip [{start}, {end}) lies outside the video's frames [0, {total_frames})")
        if end <= start:
            raise MeceViolation(f"clip [{start}, {end}) is empty")
        if start < covered_to:
            raise MeceViolation(f"clips overlap on frames [{start}, {min(end, covered_to)})")
        if start > covered_to:
            raise MeceViolation(f"frames [{covered_to}, {start}) belong to no clip")
        covered_to = end
    if covered_to < total_frames:
        raise MeceViolation(f"frames [{covered_to}, {total_frames}) belong to no clip")


def _ordered(timeline: Sequence[Clip]) -> tuple[Clip, ...]:
    """The timeline sorted by start, checked to be MECE from frame 0 and free of superseded clips."""
    clips = tuple(sorted(timeline, key=lambda c: c.start))
    if not clips:
        raise MeceViolation("a video's timeline needs at least one clip")
    if len({c.id for c in clips}) != len(clips):
        raise MeceViolation("a clip id appears twice in the timeline")
    stale = [c.id for c in clips if c.state is ClipState.SUPERSEDED]
    if stale:
        raise MeceViolation(f"superseded clips {stale} are not part of a timeline")
    check_mece([c.span for c in clips], clips[-1].end)
    return clips


# --- building clips from detected cuts --------------------------------------------------------------


def clips_from_cuts(cuts: Sequence[int], total_frames: int, min_frames: int = 1) -> list[Span]:
    """MECE spans over [0, total_frames) from cut points (the first frame of each new shot).

    Cuts at or before 0 or at or after the end are ignored; duplicates count once. Every detected shot is
    a clip, however short (the default, `min_frames=1`: a real shot merged into its neighbour would be a
    clip that contains a cut). Only when a caller asks for a larger `min_frames`, a span shorter than it
    is merged into a neighbour, shortest span first (ties: earliest), into the *shorter* of its
    two neighbours (ties: the previous one): a too-short span is usually a flash or a transition's tail,
    and joining the shorter neighbour keeps the resulting clips balanced instead of growing the longest
    shot further. If the whole video is shorter than `min_frames` it is one clip.
    """
    if total_frames < 1:
        raise BadInput(f"a video needs at least one frame to be cut into clips, got {total_frames}")
    if min_frames < 1:
        raise BadInput(f"the minimum clip length must be at least one frame, got {min_frames}")
    bounds = [0, *sorted({c for c in cuts if 0 < c < total_frames}), total_frames]
    count = len(bounds) - 1
    start = bounds[:-1]
    end = bounds[1:]
    prev = [i - 1 for i in range(count)]  # -1: none
    next_ = [i + 1 if i + 1 < count else -1 for i in range(count)]
    alive = [True] * count
    # A heap with lazy deletion: an entry is stale when its span died or grew since it was pushed.
    heap = [(end[i] - start[i], start[i], i) for i in range(count) if end[i] - start[i] < min_frames]
    heapq.heapify(heap)
    while heap:
        length, _, i = heapq.heappop(heap)
        if not alive[i] or end[i] - start[i] != length:
            continue
        p, n = prev[i], next_[i]
        if p < 0 and n < 0:
            break  # the whole video is one (short) clip
        if n < 0 or (p >= 0 and end[p] - start[p] <= end[n] - start[n]):
            keep = p
            end[p] = end[i]
            next_[p] = n
            if n >= 0:
                prev[n] = p
        else:
            keep = n
            start[n] = start[i]
            prev[n] = p
            if p >= 0:
                next_[p] = n
        alive[i] = False
        if end[keep] - start[keep] < min_frames:
            heapq.heappush(heap, (end[keep] - start[keep], start[keep], keep))
    spans = [(start[i], end[i]) for i in range(count) if alive[i]]
    check_mece(spans, total_frames)
    return spans


# --- cut operations ---------------------------------------------------------------------------------


def _require_under_review(clip: Clip, doing: str, role: str = "") -> None:
    if clip.state not in UNDER_REVIEW:
        who = f"the {role} clip ({clip.id})" if role else f"clip {clip.id}"
        raise Refused(f"cannot {doing}: {who} is {describe_state(clip.state)}; only clips under review can change")


def _index_of(clips: Sequence[Clip], clip_id: int) -> int:
    for i, clip in enumerate(clips):
        if clip.id == clip_id:
            return i
    raise Refused(f"clip {clip_id} is not part of this video's timeline any more (another cut may have replaced it)")


def add_cut(timeline: Sequence[Clip], frame: int, min_frames: int) -> CutPlan:
    """Split the clip containing `frame` so that `frame` is the first frame of the second piece."""
    clips = _ordered(timeline)
    total = clips[-1].end
    if not 0 <= frame < total:
        raise Refused(f"cannot split at frame {frame}: the video's frames are 0 to {total - 1}")
    clip = clips[bisect_right([c.start for c in clips], frame) - 1]
    if frame == clip.start:
        if frame == 0:
            raise Refused("cannot split at frame 0: it is the start of the video")
        raise Refused(f"there is already a cut at frame {frame}")
    _require_under_review(clip, f"split at frame {frame}")
    for piece, length in (("first", frame - clip.start), ("second", clip.end - frame)):
        if length < min_frames:
            raise Refused(
                f"cannot split clip {clip.id} at frame {frame}: the {piece} piece would be {length} frames, "
                f"shorter than the minimum of {min_frames}"
            )
    return CutPlan(retire=(clip.id,), create=((clip.start, frame), (frame, clip.end)))


def remove_cut(timeline: Sequence[Clip], clip_id: int) -> CutPlan:
    """Merge clip `clip_id` into its previous clip: the cut at its start disappears."""
    clips = _ordered(timeline)
    i = _index_of(clips, clip_id)
    if i == 0:
        raise Refused(f"cannot merge clip {clip_id}: it is the first clip of the video, there is no previous clip")
    previous, clip = clips[i - 1], clips[i]
    _require_under_review(clip, "merge with the previous clip")
    _require_under_review(previous, "merge with the previous clip", role="previous")
    return CutPlan(retire=(previous.id, clip.id), create=((previous.start, clip.end),))


def move_cut(timeline: Sequence[Clip], cut_frame: int, new_frame: int, min_frames: int) -> CutPlan:
    """Move the cut at `cut_frame` (the start of a clip other than the first) to `new_frame`.

    A clip may not end up shorter than `min_frames`, unless the move lengthens it (a clip made before a
    larger minimum was configured can still be fixed).
    """
    clips = _ordered(timeline)
    starts = [c.start for c in clips]
    i = bisect_right(starts, cut_frame) - 1
    if i <= 0 or starts[i] != cut_frame:
        raise Refused(f"there is no cut at frame {cut_frame}")
    left, right = clips[i - 1], clips[i]
    if new_frame == cut_frame:
        raise Refused(f"the cut is already at frame {new_frame}")
    doing = f"move the cut at frame {cut_frame} to frame {new_frame}"
    _require_under_review(left, doing, role="earlier")
    _require_under_review(right, doing, role="later")
    if new_frame <= left.start:
        limit = "the start of the video" if left.start == 0 else f"the neighbouring cut at frame {left.start}"
        raise Refused(f"cannot {doing}: it would cross {limit}")
    if new_frame >= right.end:
        limit = "the end of the video" if right.end == clips[-1].end else f"the neighbouring cut at frame {right.end}"
        raise Refused(f"cannot {doing}: it would cross {limit}")
    for clip, length in ((left, new_frame - left.start), (right, right.end - new_frame)):
        if length < min_frames and length < clip.frames:
            raise Refused(
                f"cannot {doing}: clip {clip.id} would be {length} frames, shorter than the minimum of {min_frames}"
            )
    return CutPlan(retire=(left.id, right.id), create=((left.start, new_frame), (new_frame, right.end)))


def nearest_cut(timeline: Sequence[Clip], frame: int) -> int | None:
    """The cut closest to `frame` (ties: the earlier one), or None when the video is a single clip."""
    cuts = [c.start for c in _ordered(timeline)[1:]]
    if not cuts:
        return None
    return min(cuts, key=lambda cut: (abs(cut - frame), cut))


def undo_plan(timeline: Sequence[Clip], applied: AppliedCut) -> CutPlan:
    """The inverse of an applied cut operation, given the video's current timeline.

    Refused when a created clip has moved on: decided and no longer under review (e.g. approved and
    exported), or replaced by a later cut operation (undo that one first).
    """
    by_id = {c.id: c for c in _ordered(timeline)}
    for clip_id in applied.created:
        clip = by_id.get(clip_id)
        if clip is None:
            raise Refused(
                f"cannot undo this cut operation: clip {clip_id} was since changed by another cut operation; "
                "undo that one first"
            )
        if clip.state not in UNDER_REVIEW:
            raise Refused(
                f"cannot undo this cut operation: clip {clip_id} is {describe_state(clip.state)}; "
                "undo that decision first"
            )
    if any(clip_id in by_id for clip_id in applied.retired):
        raise Refused("this cut operation was already undone")
    for state in applied.retired_states:
        check_clip_transition(ClipState.SUPERSEDED, state)
    return CutPlan(retire=applied.created, restore=applied.retired, restore_states=applied.retired_states)


def apply_plan(
    timeline: Sequence[Clip], plan: CutPlan, new_ids: Sequence[int], superseded: Mapping[int, Clip]
) -> tuple[Clip, ...]:
    """The timeline after `plan`, in memory: checks every state change against the state table and the
    result for MECE over the same frames. `new_ids` name the created clips in order; `superseded` gives the
    clips `restore` brings back (their spans; their state comes from `plan.restore_states`)."""
    clips = _ordered(timeline)
    if len(new_ids) != len(plan.create):
        raise ValueError(f"{len(plan.create)} clips to create but {len(new_ids)} new ids")
    by_id = {c.id: c for c in clips}
    for clip_id in plan.retire:
        if clip_id not in by_id:
            raise Refused(f"clip {clip_id} is not part of this video's timeline any more; reload and try again")
        check_clip_transition(by_id[clip_id].state, ClipState.SUPERSEDED)
    retired = set(plan.retire)
    created = [Clip(i, s, e, ClipState.PENDING_REVIEW) for i, (s, e) in zip(new_ids, plan.create, strict=True)]
    restored = []
    for clip_id, state in zip(plan.restore, plan.restore_states, strict=True):
        if clip_id not in superseded:
            raise ValueError(f"clip {clip_id} is to be restored but its superseded version was not given")
        check_clip_transition(ClipState.SUPERSEDED, state)
        restored.append(replace(superseded[clip_id], state=state))
    result = tuple(sorted([*(c for c in clips if c.id not in retired), *created, *restored], key=lambda c: c.start))
    if len({c.id for c in result}) != len(result):
        raise MeceViolation("a cut plan would give two clips the same id")
    check_mece([c.span for c in result], clips[-1].end)
    return result
