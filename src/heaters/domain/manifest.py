"""The export manifest: one JSON Lines record per exported clip, what someone building a dataset needs.

Pure: the caller gathers the facts (from the database and the export result); this module decides the
record's shape and serialisation. Times are derived from the frame range and the proxy's exact frame
rate, so they agree with the frames to the frame.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from heaters.domain.errors import BadInput

MANIFEST_VERSION = 1
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ExportedClip:
    video_id: int | str
    source_url: str | None
    source_title: str | None
    clip_id: int | str
    start_frame: int  # inclusive, proxy frame grid
    end_frame: int  # exclusive
    fps: Fraction
    storage_key: str
    sha256: str
    size_bytes: int
    group: int | str | None = None  # clips grouped together in review share a group
    reviewer: str | None = None  # who approved it
    exported_at: str | None = None  # ISO 8601, UTC


def manifest_record(clip: ExportedClip) -> dict:
    """The JSON-ready record of one exported clip; raises BadInput on facts that cannot be right."""
    if clip.end_frame <= clip.start_frame or clip.start_frame < 0:
        raise BadInput(f"clip {clip.clip_id} has an empty frame range [{clip.start_frame}, {clip.end_frame})")
    fps = Fraction(clip.fps)
    if fps <= 0:
        raise BadInput(f"clip {clip.clip_id} has a non-positive frame rate {clip.fps}")
    if not _SHA256.fullmatch(clip.sha256 or ""):
        raise BadInput(f"clip {clip.clip_id} checksum is not a lower-case hex SHA-256: {clip.sha256!r}")
    return {
        "manifest_version": MANIFEST_VERSION,
        "video_id": clip.video_id,
        "source_url": clip.source_url,
        "source_title": clip.source_title,
        "clip_id": clip.clip_id,
        "start_frame": clip.start_frame,
        "end_frame": clip.end_frame,
        "frame_count": clip.end_frame - clip.start_frame,
        "fps": f"{fps.numerator}/{fps.denominator}",
        "fps_float": round(float(fps), 6),
        "start_seconds": round(float(clip.start_frame / fps), 6),
        "end_seconds": round(float(clip.end_frame / fps), 6),
        "duration_seconds": round(float((clip.end_frame - clip.start_frame) / fps), 6),
        "group": clip.group,
        "reviewer": clip.reviewer,
        "storage_key": clip.storage_key,
        "sha256": clip.sha256,
        "size_bytes": clip.size_bytes,
        "exported_at": clip.exported_at,
    }


def manifest_jsonl(clips: Iterable[ExportedClip]) -> str:
    """The manifest text: one compact JSON object per line, clips in timeline order, newline-terminated."""
    ordered = sorted(clips, key=lambda c: (str(c.video_id), c.start_frame, str(c.clip_id)))
    lines = [
        json.dumps(manifest_record(c), ensure_ascii=False, sort_keys=False, separators=(",", ":")) for c in ordered
    ]
    return "".join(line + "\n" for line in lines)
