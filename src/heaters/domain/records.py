"""What the pipeline and the services know about a stored video or clip: plain values, no database rows.

The gateways in `heaters.adapters.db` read and write these; nothing above them sees a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class VideoRecord:
    id: int
    source: str  # what was submitted: a URL, a local path or "upload:NAME"
    source_url: str | None
    title: str | None
    state: str
    attempts: int
    allow_duplicate: bool
    fps: float | None
    frame_count: int | None
    duration_seconds: float | None
    original_key: str | None
    master_key: str | None
    proxy_key: str | None
    features_key: str | None

    @property
    def display_title(self) -> str:
        return self.title or self.source


@dataclass(frozen=True)
class ClipRecord:
    id: int
    video_id: int
    start_frame: int
    end_frame: int
    state: str
    attempts: int
    group_id: int | None


class ArtifactKind(StrEnum):
    """Stored objects derived from a video or clip, recorded in the artifacts table."""

    EXPORT = "export"
    KEYFRAME = "keyframe"
    MANIFEST = "manifest"


@dataclass(frozen=True)
class ArtifactRecord:
    video_id: int
    clip_id: int | None
    kind: ArtifactKind
    key: str
    sha256: str | None
    size_bytes: int | None
    content_type: str | None
    details: dict


@dataclass(frozen=True)
class Preprocessed:
    """What preprocessing learnt about a video, recorded with its master, proxy and features keys."""

    master_key: str
    proxy_key: str
    features_key: str
    fps: float
    frame_count: int
    duration_seconds: float
    width: int
    height: int
    rotation: int | None
    has_audio: bool
    probe: dict
