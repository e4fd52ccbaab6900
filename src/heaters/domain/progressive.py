"""Shot detection a window at a time: clips are settled as features arrive (chunked preprocessing), and a
long video is detected in bounded memory.

The video's clips always cover [0, end) without gap or overlap; `settle` extends them over a window of
features. A boundary is final once it lies `shots.settle_frames(fps)` frames inside the window on both
sides (see `heaters.domain.shots`), so the window starts that far before `end`; the clip that would start
at the last final boundary waits for the next window (its end is not known yet), except at the video's
end. Concatenated over windows, the clips are exactly those of one `detect` over the whole video.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from heaters.domain.shots import Boundary, detect, picture_end, settle_frames

# Frames of features detected at once when a whole video is detected window by window (float32 copies of
# a window's features are what detection holds in memory: 9000 frames ≈ 35 MB).
DETECT_WINDOW_FRAMES = 9000


@dataclass(frozen=True)
class Settled:
    spans: tuple[tuple[int, int], ...]  # new clips [start, end), contiguous from the previous end
    end: int  # the clips now cover [0, end)
    boundaries: tuple[Boundary, ...]  # the kept boundaries among the new clips' starts
    suggested: tuple[Boundary, ...]  # near-misses inside the new clips


def window_start(clips_end: int, fps: float) -> int:
    """Where the window that extends clips ending at `clips_end` must start."""
    return max(0, clips_end - settle_frames(fps))


def settle(window: np.ndarray, first_frame: int, clips_end: int, fps: float, *, video_end: bool) -> Settled:
    """Extend clips that cover [0, clips_end) over `window` = features of frames [first_frame, …).

    first_frame must be at most `window_start(clips_end, fps)`. With video_end the window reaches the
    video's last frame and the clips are completed."""
    if first_frame > window_start(clips_end, fps):
        raise ValueError(f"a window from frame {first_frame} cannot settle boundaries after {clips_end}")
    stop = first_frame + len(window)
    detection = detect(window, fps)
    found = [_shifted(b, first_frame) for b in detection.boundaries]
    near = [_shifted(b, first_frame) for b in detection.suggested]
    limit = stop if video_end else first_frame + picture_end(window) - settle_frames(fps)
    cuts = [b.frame for b in found if clips_end < b.frame < limit]
    ends = [*cuts, stop] if video_end and stop > clips_end else cuts
    end = ends[-1] if ends else clips_end
    spans = tuple(zip([clips_end, *ends[:-1]], ends, strict=True)) if ends else ()
    last = end - 1 if video_end else end  # the video's end is no boundary; the waiting clip's start is
    boundaries = tuple(b for b in found if clips_end < b.frame <= last)
    suggested = tuple(b for b in near if clips_end < b.frame < end)
    return Settled(spans, end, boundaries, suggested)


def detect_in_windows(
    read: Callable[[int, int], np.ndarray],
    frame_count: int,
    fps: float,
    window_frames: int = DETECT_WINDOW_FRAMES,
    clips_end: int = 0,
) -> Iterator[Settled]:
    """The video's clips after `clips_end` (0: all of them), window by window; `read(a, b)` gives the
    features of frames [a, b)."""
    while clips_end < frame_count:
        first = window_start(clips_end, fps)
        size = max(window_frames, 4 * settle_frames(fps))
        while True:
            stop = min(frame_count, first + size)
            settled = settle(read(first, stop), first, clips_end, fps, video_end=stop == frame_count)
            if settled.end > clips_end:
                break
            size *= 2  # one shot longer than the window: look further
        yield settled
        clips_end = settled.end


def _shifted(boundary: Boundary, offset: int) -> Boundary:
    if not offset:
        return boundary
    span = (boundary.span[0] + offset, boundary.span[1] + offset)
    return Boundary(boundary.frame + offset, boundary.kind, span, boundary.confidence)
