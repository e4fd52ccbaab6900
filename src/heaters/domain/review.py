"""Review decisions (approve, skip, archive, group) and their undo, as pure decisions over clip states.

An action's effect is a `ReviewEffect`: the state changes (`before` -> `after`) and group changes it
makes. Undo is the same effect reversed, allowed only while every clip is still exactly where the action
left it (same state, same group); a clip that moved on (e.g. being exported) makes undo a refusal.
Cut-point actions (split, merge, move cut) are plans in `heaters.domain.timeline`.

Groups: grouping a clip with the previous active clip of its video makes both `review_approved` and puts
them in one group. A group is named by the id of its first clip, so the domain names groups without the
database. If the previous clip is already approved and not yet being exported, the clip joins the previous
clip's group (or starts one with it). Groups therefore are runs of consecutive clips that only grow at
their end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from heaters.domain.errors import Refused
from heaters.domain.states import UNDER_REVIEW, ClipState, check_clip_transition
from heaters.domain.timeline import Clip, describe_state


class ActionKind(StrEnum):
    """Every action a reviewer can take; the audit event's `action`."""

    APPROVE = "approve"
    SKIP = "skip"
    ARCHIVE = "archive"
    GROUP = "group"
    SPLIT = "split"
    MERGE = "merge"
    MOVE_CUT = "move_cut"
    UNDO = "undo"


CUT_ACTIONS: frozenset[ActionKind] = frozenset({ActionKind.SPLIT, ActionKind.MERGE, ActionKind.MOVE_CUT})
DECISION_STATES: dict[ActionKind, ClipState] = {
    ActionKind.APPROVE: ClipState.REVIEW_APPROVED,
    ActionKind.SKIP: ClipState.REVIEW_SKIPPED,
    ActionKind.ARCHIVE: ClipState.REVIEW_ARCHIVED,
}
# A group is metadata: it joins clips that are under review or kept (approved, exported or further on —
# the manifest is rewritten at the next export), never archived or superseded ones.
_NOT_GROUPABLE: frozenset[ClipState] = frozenset({ClipState.REVIEW_ARCHIVED, ClipState.SUPERSEDED})
_GROUPABLE: frozenset[ClipState] = frozenset(ClipState) - _NOT_GROUPABLE


@dataclass(frozen=True)
class StateChange:
    clip_id: int
    before: ClipState
    after: ClipState


@dataclass(frozen=True)
class GroupChange:
    clip_id: int
    before: int | None
    after: int | None


@dataclass(frozen=True)
class ReviewEffect:
    """What one review action changed; stored in its audit event so the action can be undone."""

    kind: ActionKind
    changes: tuple[StateChange, ...]
    group_changes: tuple[GroupChange, ...] = ()

    @property
    def clip_ids(self) -> frozenset[int]:
        return frozenset(c.clip_id for c in self.changes) | {g.clip_id for g in self.group_changes}

    def to_payload(self) -> dict[str, Any]:
        """JSON-ready form for the audit event."""
        return {
            "kind": str(self.kind),
            "changes": [[c.clip_id, str(c.before), str(c.after)] for c in self.changes],
            "group_changes": [[g.clip_id, g.before, g.after] for g in self.group_changes],
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ReviewEffect:
        return cls(
            kind=ActionKind(payload["kind"]),
            changes=tuple(StateChange(int(i), ClipState(b), ClipState(a)) for i, b, a in payload["changes"]),
            group_changes=tuple(GroupChange(int(i), b, a) for i, b, a in payload["group_changes"]),
        )


def _change(clip: Clip, after: ClipState) -> StateChange:
    check_clip_transition(clip.state, after)  # the state table has the last word
    return StateChange(clip.id, clip.state, after)


def decide(kind: ActionKind, clip: Clip) -> ReviewEffect:
    """Approve, skip or archive a clip that is under review (pending or skipped). Skipping a skipped clip
    changes nothing but says "not now either": the queue passes over it from then on (an effect without
    changes, which the audit event records)."""
    if kind not in DECISION_STATES:
        raise ValueError(f"{kind} is not a simple review decision")
    target = DECISION_STATES[kind]
    if kind is ActionKind.SKIP and clip.state is ClipState.REVIEW_SKIPPED:
        return ReviewEffect(kind, ())
    if clip.state is target:
        raise Refused(f"clip {clip.id} is already {target.removeprefix('review_')}")
    if clip.state not in UNDER_REVIEW:
        raise Refused(f"cannot {kind} clip {clip.id}: it is {describe_state(clip.state)}")
    return ReviewEffect(kind, (_change(clip, target),))


def approve(clip: Clip) -> ReviewEffect:
    return decide(ActionKind.APPROVE, clip)


def skip(clip: Clip) -> ReviewEffect:
    return decide(ActionKind.SKIP, clip)


def archive(clip: Clip) -> ReviewEffect:
    return decide(ActionKind.ARCHIVE, clip)


def group(clip: Clip, previous: Clip | None) -> ReviewEffect:
    """Group `clip` with `previous`, the active clip just before it in the same video: one group, `clip`
    approved if it is under review. Joins the previous clip's group when it already has one. The previous
    clip must have been reviewed: a skipped one is approved with it (the caller says so), a pending one is
    refused — grouping never decides a clip nobody has looked at."""
    if previous is None:
        raise Refused(f"cannot group clip {clip.id}: it is the first clip of the video, there is no previous clip")
    if clip.state not in _GROUPABLE:
        raise Refused(f"cannot group clip {clip.id}: it is {describe_state(clip.state)}")
    if previous.state is ClipState.PENDING_REVIEW:
        raise Refused(
            f"cannot group clip {clip.id} with the previous clip ({previous.id}): it has not been reviewed yet; "
            "review it first"
        )
    if previous.state not in _GROUPABLE:
        raise Refused(
            f"cannot group clip {clip.id} with the previous clip ({previous.id}): "
            f"that clip is {describe_state(previous.state)}"
        )
    if clip.group_id is not None:
        if clip.group_id == previous.group_id:
            raise Refused(f"clip {clip.id} is already grouped with the previous clip")
        # Only the first clip of a group can be in a group its previous clip is not in; merging two groups
        # would need every member, and walking back is clearer for the reviewer anyway.
        raise Refused(
            f"cannot group clip {clip.id} with the previous clip: it already starts a group with the clip after "
            "it; undo that grouping first"
        )
    group_id = previous.group_id if previous.group_id is not None else previous.id
    changes = tuple(_change(c, ClipState.REVIEW_APPROVED) for c in (previous, clip) if c.state in UNDER_REVIEW)
    group_changes = tuple(GroupChange(c.id, c.group_id, group_id) for c in (previous, clip) if c.group_id != group_id)
    return ReviewEffect(ActionKind.GROUP, changes, group_changes)


def undo(effect: ReviewEffect, current: Mapping[int, Clip], following: Clip | None = None) -> ReviewEffect:
    """The effect that reverses `effect`, given the current view of every clip it touched.

    For a group effect, pass as `following` the active clip right after the grouped clip: if it joined the
    group since, undoing would split the group in the middle, so that grouping must be undone first.
    """
    if effect.kind is ActionKind.UNDO:
        raise Refused("an undo cannot itself be undone")
    if effect.kind in CUT_ACTIONS:
        raise ValueError("cut operations are undone with heaters.domain.timeline.undo_plan")
    for change in effect.changes:
        clip = current.get(change.clip_id)
        if clip is None:
            raise Refused(f"cannot undo the {effect.kind} of clip {change.clip_id}: the clip no longer exists")
        if clip.state is not change.after:
            raise Refused(f"cannot undo the {effect.kind} of clip {clip.id}: it is now {describe_state(clip.state)}")
    for change in effect.group_changes:
        clip = current.get(change.clip_id)
        if clip is None or clip.group_id != change.after:
            raise Refused(f"cannot undo the {effect.kind} of clip {change.clip_id}: its group has changed since")
    if following is not None and following.id not in effect.clip_ids and following.group_id is not None:
        if any(g.after == following.group_id for g in effect.group_changes):
            raise Refused(
                f"cannot undo the {effect.kind}: clip {following.id} was grouped with it since; undo that first"
            )
    reverse = tuple(StateChange(c.clip_id, c.after, c.before) for c in reversed(effect.changes))
    # Clips under review belong to no group; a clip grouped since (by the clip after it) cannot go back.
    group_after_undo = {g.clip_id: g.before for g in effect.group_changes}
    for change in reverse:
        final_group = group_after_undo.get(change.clip_id, current[change.clip_id].group_id)
        if change.after in UNDER_REVIEW and final_group is not None:
            raise Refused(
                f"cannot undo the {effect.kind} of clip {change.clip_id}: it has since been grouped with the clip "
                "after it; undo that grouping first"
            )
    for change in reverse:
        check_clip_transition(change.before, change.after)
    reverse_groups = tuple(GroupChange(g.clip_id, g.after, g.before) for g in reversed(effect.group_changes))
    return ReviewEffect(ActionKind.UNDO, reverse, reverse_groups)


# --- claims: who may act on a clip


@dataclass(frozen=True)
class Claim:
    """A reviewer's lease on a clip: others may view the clip but not act on it until it expires."""

    clip_id: int
    holder_id: int
    holder_name: str
    expires_at: datetime


class HeldByAnother(Refused):
    """The clip is claimed by another reviewer whose lease has not expired."""


def check_not_held_by_others(
    clip_ids: Iterable[int], claims: Mapping[int, Claim], reviewer_id: int, now: datetime
) -> None:
    """Refuse an action that would change a clip another reviewer holds (naming who, and until when)."""
    for clip_id in sorted(clip_ids):
        claim = claims.get(clip_id)
        if claim is not None and claim.holder_id != reviewer_id and claim.expires_at > now:
            raise HeldByAnother(
                f"clip {clip_id} is being reviewed by {claim.holder_name} until "
                f"{claim.expires_at.astimezone(UTC):%H:%M:%S} UTC; you can view it but not act on it"
            )
