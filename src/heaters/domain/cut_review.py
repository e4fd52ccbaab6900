"""Cut review: the order in which a reviewer walks a video's boundaries, least confident first.

Each item is a cut of the current timeline (keep it, or remove it: merge the clips either side) or a
suggested cut the detector scored below its threshold (add it: split there). Cuts a reviewer made, with no
detector score, come last."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from heaters.domain.timeline import Clip


@dataclass(frozen=True)
class CutItem:
    frame: int  # first frame after the cut
    confidence: float | None  # None: a cut the detector did not score (made by a reviewer)
    kind: str | None
    suggested: bool  # not a cut now: the detector's near miss
    clip_id: int  # the clip a key acts on: the clip after the cut (merge), or the one holding the suggestion (split)
    clip_state: str

    def as_json(self) -> dict:
        return {
            "frame": self.frame,
            "confidence": None if self.confidence is None else round(self.confidence, 3),
            "kind": self.kind,
            "suggested": self.suggested,
            "clip_id": self.clip_id,
            "clip_state": self.clip_state,
        }


def cut_review_items(timeline: Sequence[Clip], detected: Sequence[tuple[int, str, float, bool]]) -> list[CutItem]:
    """`detected`: (frame, kind, confidence, suggested) from shot detection. Lowest confidence first, then by
    frame; unscored cuts last."""
    clips = sorted(timeline, key=lambda c: c.start)
    scores = {frame: (kind, confidence) for frame, kind, confidence, _ in detected}
    items = []
    for clip in clips[1:]:
        kind, confidence = scores.get(clip.start, (None, None))
        items.append(CutItem(clip.start, confidence, kind, False, clip.id, str(clip.state)))
    cuts = {c.start for c in clips}
    for frame, kind, confidence, suggested in detected:
        if suggested and frame not in cuts:
            holder = next((c for c in clips if c.start < frame < c.end), None)
            if holder is not None:
                items.append(CutItem(frame, confidence, kind, True, holder.id, str(holder.state)))
    return sorted(items, key=lambda i: (i.confidence is None, i.confidence or 0.0, i.frame))
