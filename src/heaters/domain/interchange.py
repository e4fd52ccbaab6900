"""What leaves Heaters for other tools: an editor's timeline and a training set's samples. Pure.

Timeline (for OpenTimelineIO and EDL): one track of a video's approved clips and one of its archived
clips, each clip a frame range of the source media, placed at its own position in the source so both
tracks line up with the source and with each other (the holes between are gaps). Groups become markers.
Frames are integers and the rate a `Fraction`, so 30000/1001 stays 30000/1001 — the OTIO adapter turns
them into `RationalTime(frame, rate)` and nothing is rounded on the way.

Dataset (for WebDataset): which clips are ready to ship, the sample key, the JSON record of a sample,
and shard sizes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from heaters.domain.errors import BadInput, Refused
from heaters.domain.framegrid import choose_output_rate
from heaters.domain.manifest import ExportedClip, manifest_record
from heaters.domain.states import ClipState

C = ClipState
# Approved in review: the clip is on the editor's main track whatever the later stages did with it.
APPROVED_STATES: frozenset[ClipState] = frozenset(
    {
        C.REVIEW_APPROVED,
        C.EXPORTING,
        C.EXPORTED,
        C.EXPORT_FAILED,
        C.KEYFRAMING,
        C.KEYFRAMED,
        C.KEYFRAME_FAILED,
        C.EMBEDDING,
        C.EMBEDDED,
        C.EMBEDDING_FAILED,
    }
)
ARCHIVED_STATES: frozenset[ClipState] = frozenset({C.REVIEW_ARCHIVED})
# A clip ships once no stage is still adding to it (keyframes, embedding): it is shipped exactly once,
# so shipping it half-way would leave the dataset without its keyframes for good. Clips still in the
# pipeline wait for the next run.
SHIPPABLE_STATES: frozenset[ClipState] = frozenset({C.EMBEDDED, C.KEYFRAME_FAILED, C.EMBEDDING_FAILED})

SAMPLE_FORMAT_VERSION = 1


# --- frame rates


def exact_rate(stored_fps: float, average_rate: str | None = None, nominal_rate: str | None = None) -> Fraction:
    """The proxy grid's exact rate, from the float the database keeps and the probe's exact rates.

    Preprocessing chose the grid with `choose_output_rate(average, nominal)`; recomputing it from the
    probe's exact "num/den" strings gives the very Fraction used (checked against the stored float).
    Without a probe, every rate the grid can have (standard rates, n/1000) has a denominator ≤ 1001, and
    the closest such fraction to the stored double is the rate itself.
    """
    if not stored_fps or stored_fps <= 0:
        raise BadInput(f"the video has no frame rate yet ({stored_fps!r}); it is not preprocessed")
    try:
        average = Fraction(average_rate) if average_rate else None
        nominal = Fraction(nominal_rate) if nominal_rate else None
    except (ValueError, ZeroDivisionError):
        average = nominal = None
    if average or nominal:
        chosen = choose_output_rate(average, nominal)
        if float(chosen) == stored_fps:
            return chosen
    return Fraction(stored_fps).limit_denominator(1001)


def rate_text(rate: Fraction) -> str:
    return f"{rate.numerator}/{rate.denominator}"


# --- timeline


@dataclass(frozen=True)
class TimelineClip:
    clip_id: int
    start_frame: int  # inclusive, on the proxy's frame grid (= the master's)
    end_frame: int  # exclusive
    state: str
    group: int | None = None
    reviewer: str | None = None
    reviewed_at: str | None = None  # ISO 8601
    confidence: float | None = None  # the detector's confidence in the cut that starts this clip
    export_key: str | None = None

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


@dataclass(frozen=True)
class Gap:
    frames: int


@dataclass(frozen=True)
class GroupMarker:
    """A review group, marked on each of its clips over the clip's whole range."""

    group: int
    clip_ids: tuple[int, ...]
    start_frame: int  # first frame of the group's first clip
    end_frame: int  # end of its last clip


@dataclass(frozen=True)
class TimelineTrack:
    name: str
    enabled: bool
    items: tuple[TimelineClip | Gap, ...]

    @property
    def clips(self) -> tuple[TimelineClip, ...]:
        return tuple(i for i in self.items if isinstance(i, TimelineClip))


@dataclass(frozen=True)
class MediaSource:
    key: str
    uri: str
    kind: str  # "master" or "proxy"
    frame_count: int


@dataclass(frozen=True)
class TimelineVideo:
    video_id: int
    title: str | None
    source_url: str | None
    rate: Fraction
    frame_count: int
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class TimelineSpec:
    name: str
    video: TimelineVideo
    media: MediaSource
    tracks: tuple[TimelineTrack, ...]
    groups: tuple[GroupMarker, ...]
    metadata: dict = field(default_factory=dict)


def choose_media(master: MediaSource | None, proxy: MediaSource | None) -> MediaSource:
    """The master when it exists (highest quality, same frame grid), else the proxy."""
    chosen = master or proxy
    if chosen is None:
        raise Refused("the video has neither a master nor a proxy yet; preprocess it first")
    return chosen


def _track(name: str, enabled: bool, clips: Sequence[TimelineClip]) -> TimelineTrack:
    items: list[TimelineClip | Gap] = []
    position = 0
    for clip in sorted(clips, key=lambda c: c.start_frame):
        if clip.start_frame < position:
            raise BadInput(f"clip {clip.clip_id} overlaps the clip before it on the {name} track")
        if clip.start_frame > position:
            items.append(Gap(clip.start_frame - position))
        items.append(clip)
        position = clip.end_frame
    return TimelineTrack(name=name, enabled=enabled, items=tuple(items))


def group_markers(clips: Iterable[TimelineClip]) -> tuple[GroupMarker, ...]:
    by_group: dict[int, list[TimelineClip]] = {}
    for clip in clips:
        if clip.group is not None:
            by_group.setdefault(clip.group, []).append(clip)
    markers = []
    for group, members in sorted(by_group.items()):
        members.sort(key=lambda c: c.start_frame)
        markers.append(
            GroupMarker(group, tuple(c.clip_id for c in members), members[0].start_frame, members[-1].end_frame)
        )
    return tuple(markers)


def build_timeline(video: TimelineVideo, media: MediaSource, clips: Iterable[TimelineClip]) -> TimelineSpec:
    """The editor's view of a video's review: approved clips on track 1, archived ones (disabled) on
    track 2, both at their source positions; clips under review, skipped or superseded are left out."""
    clips = list(clips)
    for clip in clips:
        if not 0 <= clip.start_frame < clip.end_frame <= video.frame_count:
            raise BadInput(
                f"clip {clip.clip_id} [{clip.start_frame}, {clip.end_frame}) is outside the video's "
                f"{video.frame_count} frames"
            )
    approved = [c for c in clips if c.state in APPROVED_STATES]
    archived = [c for c in clips if c.state in ARCHIVED_STATES]
    title = video.title or f"video {video.video_id}"
    return TimelineSpec(
        name=f"{title} (Heaters review)",
        video=video,
        media=media,
        tracks=(_track("Approved", True, approved), _track("Archived", False, archived)),
        groups=group_markers(approved),
        metadata={
            "video_id": video.video_id,
            "source_url": video.source_url,
            "title": video.title,
            "fps": rate_text(video.rate),
            "frame_count": video.frame_count,
            "media": {"kind": media.kind, "key": media.key, "uri": media.uri},
        },
    )


def clip_metadata(clip: TimelineClip) -> dict:
    return {
        "clip_id": clip.clip_id,
        "start_frame": clip.start_frame,
        "end_frame": clip.end_frame,
        "state": clip.state,
        "group": clip.group,
        "reviewer": clip.reviewer,
        "reviewed_at": clip.reviewed_at,
        "detector_confidence": clip.confidence,
        "export_key": clip.export_key,
    }


# --- dataset


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
MIN_SHARD_BYTES = 1


def parse_size(text: str) -> int:
    """Bytes in "1GB", "500MB", "2GiB", "10k" or "123456" (decimal units; `i` means binary)."""
    match = _SIZE.fullmatch(text or "")
    if not match:
        raise BadInput(f"not a size: {text!r} (examples: 1GB, 500MB, 2GiB, 1000000)")
    number, unit = match.group(1), (match.group(2) or "").lower()
    binary = "i" in unit
    letter = unit.replace("i", "").replace("b", "")
    scale = 1024 ** " kmgt".index(letter) if binary and letter else _UNITS[letter]
    size = int(Fraction(number) * scale)
    if size < MIN_SHARD_BYTES:
        raise BadInput(f"shard size must be at least {MIN_SHARD_BYTES} byte, got {text!r}")
    return size


SHARD_PREFIX = "heaters-"
SHARD_SUFFIX = ".tar"
PARTIAL_SUFFIX = ".partial"
_SHARD_NAME = re.compile(rf"{re.escape(SHARD_PREFIX)}(\d{{6,}}){re.escape(SHARD_SUFFIX)}")


def shard_name(seq: int) -> str:
    return f"{SHARD_PREFIX}{seq:06d}{SHARD_SUFFIX}"


def shard_seq(name: str) -> int | None:
    """The sequence number of a shard file name (or of its `.partial` temp), None for other names."""
    if name.endswith(PARTIAL_SUFFIX):
        name = name[: -len(PARTIAL_SUFFIX)]
    match = _SHARD_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def sample_key(video_id: int, clip_id: int) -> str:
    """WebDataset splits a member name at its first dot: the key must have none."""
    return f"v{video_id:06d}-c{clip_id:08d}"


def keyframe_member(percent_or_label: int | str, ext: str) -> str:
    label = f"{percent_or_label:03d}" if isinstance(percent_or_label, int) else str(percent_or_label)
    return f"kf{label}.{ext.lower().lstrip('.')}"


@dataclass(frozen=True)
class DatasetClip:
    """Everything a sample needs except the bytes: the manifest facts plus keyframe and embedding refs."""

    exported: ExportedClip
    keyframes: tuple[tuple[str, str], ...] = ()  # (member name such as "kf025.jpg", storage key)
    embedding_model: str | None = None
    embedding_strategy: str | None = None
    confidence: float | None = None

    @property
    def key(self) -> str:
        return sample_key(int(self.exported.video_id), int(self.exported.clip_id))


def sample_record(clip: DatasetClip, *, with_embedding: bool) -> dict:
    """The sample's JSON: the manifest record plus what the shard holds beside the MP4."""
    record = manifest_record(clip.exported)
    record.update(
        {
            "sample_format_version": SAMPLE_FORMAT_VERSION,
            "__key__": clip.key,
            "detector_confidence": clip.confidence,
            "keyframes": [name for name, _ in clip.keyframes],
            "embedding_model": clip.embedding_model,
            "embedding_strategy": clip.embedding_strategy,
            "embedding_file": "npy" if with_embedding and clip.embedding_model else None,
        }
    )
    return record


def plan_shards(sizes: Sequence[int], limit: int) -> list[list[int]]:
    """Indexes of samples per shard: in order, a new shard when the next sample would pass `limit`;
    a sample larger than the limit gets a shard of its own (it cannot be split)."""
    shards: list[list[int]] = []
    current: list[int] = []
    used = 0
    for index, size in enumerate(sizes):
        if current and used + size > limit:
            shards.append(current)
            current, used = [], 0
        current.append(index)
        used += size
    if current:
        shards.append(current)
    return shards
