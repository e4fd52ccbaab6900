"""Test helper: make an all-intra H.264 + AAC proxy (the shape preprocess produces) from real footage.

Independent of the real preprocess on purpose, so export tests do not depend on it. Also a frame
checksum helper used to compare decoded frames bit for bit.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import av


def make_proxy(source: Path, out: Path, max_frames: int | None = None, crf: int = 23) -> Path:
    """Re-encode `source` to an MP4 proxy: libx264 with every frame a keyframe (g=1), yuv420p, CFR at
    the source's average rate, AAC audio (if the source has audio), moov before mdat."""
    with av.open(str(source)) as src, av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as dst:
        vin = src.streams.video[0]
        rate = Fraction(vin.average_rate or vin.guessed_rate)
        vout = dst.add_stream("libx264", rate=rate)
        vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        frame_time_base = 1 / rate
        vout.time_base = frame_time_base
        vout.options = {"g": "1", "crf": str(crf), "preset": "veryfast", "bf": "0"}
        ain = src.streams.audio[0] if src.streams.audio else None
        aout = None
        if ain is not None:
            aout = dst.add_stream("aac", rate=ain.codec_context.sample_rate)
            aout.layout = "stereo" if ain.codec_context.layout.nb_channels >= 2 else "mono"
        resampler = av.AudioResampler(format="fltp", layout=aout.layout, rate=aout.rate) if aout else None
        streams = [vin] + ([ain] if ain is not None else [])
        n_video = 0
        for packet in src.demux(*streams):
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame):
                    if max_frames is not None and n_video >= max_frames:
                        continue
                    # Renumber frames so the proxy is strictly CFR whatever the source timestamps say.
                    frame = frame.reformat(format="yuv420p")
                    frame.pts, frame.time_base = n_video, frame_time_base
                    frame.pict_type = av.video.frame.PictureType.NONE  # let x264 decide (all I anyway)
                    n_video += 1
                    dst.mux(vout.encode(frame))
                elif aout is not None:
                    if max_frames is not None and frame.time is not None and frame.time >= max_frames / rate:
                        continue
                    frame.pts = None
                    for resampled in resampler.resample(frame):
                        dst.mux(aout.encode(resampled))
        dst.mux(vout.encode(None))
        if aout is not None:
            for resampled in resampler.resample(None):
                dst.mux(aout.encode(resampled))
            dst.mux(aout.encode(None))
    return out


def frame_checksums(path: Path | str) -> list[str]:
    """SHA-256 of every decoded video frame's pixel planes, in decode order."""
    sums = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            sums.append(hashlib.sha256(frame.to_ndarray(format="yuv420p").tobytes()).hexdigest())
    return sums
