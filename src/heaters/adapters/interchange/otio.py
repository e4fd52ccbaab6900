"""A `TimelineSpec` as an OpenTimelineIO timeline, written with any installed OTIO adapter that writes
(`otio_json` always; `cmx_3600` EDL from the `otio-cmx3600-adapter` package).

Every time is `RationalTime(frame, rate)` with an integer frame and the grid's rate, so frames survive
exactly: OTIO keeps the rate as a double, and 30000/1001 as a double converts back to 30000/1001 (the
exact rate is also written as text in the metadata, `heaters.fps`).
"""

from __future__ import annotations

from fractions import Fraction

import opentimelineio as otio

from heaters.domain.errors import BadInput
from heaters.domain.interchange import Gap, TimelineSpec, clip_metadata, rate_text

METADATA_NAMESPACE = "heaters"
DEFAULT_FORMAT = "otio"
# Short names people type, and the OTIO adapter each means.
ALIASES = {"otio": "otio_json", "edl": "cmx_3600"}
_MARKER_COLOR = otio.schema.MarkerColor.GREEN


def _time(frames: int, rate: Fraction) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, float(rate))


def _range(start: int, frames: int, rate: Fraction) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_time(start, rate), _time(frames, rate))


def writable_formats() -> dict[str, str]:
    """Format name → file suffix, for every installed OTIO adapter that writes a single file's text."""
    formats = {}
    for name in otio.adapters.available_adapter_names():
        adapter = otio.adapters.from_name(name)
        if adapter.has_feature("write_to_string"):
            formats[name] = (adapter.suffixes or [name])[0]
    for alias, name in ALIASES.items():
        if name in formats:
            formats[alias] = formats[name]
    return formats


def adapter_name(format_name: str) -> str:
    formats = writable_formats()
    if format_name not in formats:
        raise BadInput(f"unknown timeline format {format_name!r}; installed: {', '.join(sorted(formats))}")
    return ALIASES.get(format_name, format_name)


def suffix_for(format_name: str) -> str:
    return writable_formats()[format_name]


def to_otio(spec: TimelineSpec) -> otio.schema.Timeline:
    rate = spec.video.rate
    timeline = otio.schema.Timeline(name=spec.name, global_start_time=_time(0, rate))
    timeline.metadata[METADATA_NAMESPACE] = dict(spec.metadata)
    media_name = f"{spec.video.title or spec.video.video_id} ({spec.media.kind})"
    markers_by_clip = {cid: marker for marker in spec.groups for cid in marker.clip_ids}
    for track_spec in spec.tracks:
        track = otio.schema.Track(name=track_spec.name, kind=otio.schema.TrackKind.Video)
        track.enabled = track_spec.enabled
        for item in track_spec.items:
            if isinstance(item, Gap):
                track.append(otio.schema.Gap(source_range=_range(0, item.frames, rate)))
                continue
            # Each clip gets its own reference object (OTIO serialises a shared one per clip anyway).
            reference = otio.schema.ExternalReference(
                target_url=spec.media.uri, available_range=_range(0, spec.media.frame_count, rate)
            )
            reference.name = media_name
            reference.metadata[METADATA_NAMESPACE] = {"key": spec.media.key, "kind": spec.media.kind}
            clip = otio.schema.Clip(
                name=f"clip {item.clip_id}",
                media_reference=reference,
                source_range=_range(item.start_frame, item.frames, rate),
            )
            clip.metadata[METADATA_NAMESPACE] = {**clip_metadata(item), "fps": rate_text(rate)}
            marker = markers_by_clip.get(item.clip_id)
            if marker is not None and track_spec.enabled:
                clip.markers.append(
                    otio.schema.Marker(
                        name=f"group {marker.group}",
                        marked_range=_range(item.start_frame, item.frames, rate),
                        color=_MARKER_COLOR,
                        metadata={
                            METADATA_NAMESPACE: {
                                "group": marker.group,
                                "clip_ids": list(marker.clip_ids),
                                "group_start_frame": marker.start_frame,
                                "group_end_frame": marker.end_frame,
                            }
                        },
                    )
                )
            track.append(clip)
        timeline.tracks.append(track)
    return timeline


def write_timeline(spec: TimelineSpec, format_name: str = DEFAULT_FORMAT) -> bytes:
    """The timeline as the named format's bytes (an EDL carries only the enabled, approved track)."""
    name = adapter_name(format_name)
    timeline = to_otio(spec)
    try:
        if name == "cmx_3600":
            text = otio.adapters.write_to_string(timeline, name, rate=float(spec.video.rate))
        else:
            text = otio.adapters.write_to_string(timeline, name)
    except otio.exceptions.OTIOError as error:
        raise BadInput(f"OpenTimelineIO cannot write this timeline as {format_name}: {error}") from error
    return text.encode() if isinstance(text, str) else text
