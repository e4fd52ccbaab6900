"""Chunked preprocessing as plain arithmetic: which grid frames each chunk writes, when a video is worth
chunking, and which prefix of a video is settled.

Chunk i holds grid frames [i*N, (i+1)*N), N = round(chunk_seconds * fps). The count comes from the probe's
duration, which is an estimate, so the LAST chunk is open-ended (it runs to the video's real end, which is
known only once it is decoded): a video a little longer than announced still ends up whole, one a little
shorter just has a shorter (or, rarely, empty) last chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

# A video of this many chunks or fewer is preprocessed by one job, as before chunking: on one worker a
# chunked run costs each chunk's seek and x264 warm-up (bench/chunked.py: 1.09x the one-job path with 20-s
# chunks on one core; the warm-up is 48 frames a chunk), which pays off only when several workers share the
# chunks or review should start before the end, i.e. for longer videos.
SINGLE_JOB_MAX_CHUNKS = 2


class ChunkState:
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# The audio track is encoded once for the whole video, as its own job beside the video chunks.
AUDIO_CHUNK = -1


@dataclass(frozen=True)
class ChunkPlan:
    chunk_frames: int
    count: int

    def first(self, index: int) -> int:
        return index * self.chunk_frames

    def stop(self, index: int) -> int | None:
        """End (exclusive) of chunk `index`; None for the last one: it runs to the end of the video."""
        return None if index == self.count - 1 else (index + 1) * self.chunk_frames

    @property
    def indexes(self) -> range:
        return range(self.count)

    @property
    def single_job(self) -> bool:
        return self.count <= SINGLE_JOB_MAX_CHUNKS


def plan_chunks(duration_seconds: float, fps: Fraction | float, chunk_seconds: float) -> ChunkPlan:
    """The plan for a video of (about) `duration_seconds` on a grid of `fps`; chunk_seconds <= 0 means one
    chunk (chunking off)."""
    estimated_frames = max(1, round(duration_seconds * float(fps)))
    if chunk_seconds <= 0:
        return ChunkPlan(estimated_frames, 1)
    chunk_frames = max(1, round(chunk_seconds * float(fps)))
    # round, not ceil: a tail under half a chunk joins the last chunk instead of being a chunk of its own
    count = max(1, round(estimated_frames / chunk_frames))
    return ChunkPlan(chunk_frames, count)


@dataclass(frozen=True)
class ChunkProgress:
    index: int
    state: str
    first_frame: int
    frame_count: int | None  # known once done


def done_prefix_frames(chunks: list[ChunkProgress]) -> int:
    """Frames [0, n) written by the leading run of finished video chunks (the audio chunk is not counted)."""
    frames = 0
    for chunk in sorted((c for c in chunks if c.index >= 0), key=lambda c: c.index):
        if chunk.state != ChunkState.DONE or chunk.first_frame != frames:
            break
        frames += chunk.frame_count or 0
    return frames


def all_done(chunks: list[ChunkProgress]) -> bool:
    return bool(chunks) and all(c.state == ChunkState.DONE for c in chunks)


def done_fraction(chunks: list[ChunkProgress]) -> float:
    return sum(c.state == ChunkState.DONE for c in chunks) / len(chunks) if chunks else 0.0
