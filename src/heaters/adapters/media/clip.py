"""Frame-exact clip cutting from an all-intra proxy by stream copy (no decode, no encode).

The proxy is an MP4 whose video is H.264 with every frame a keyframe, at a constant frame rate, plus
optional AAC audio. Because every frame is independently decodable, the clip of frames
[start, end) is simply those video packets, plus the audio packets that overlap the same time span,
re-stamped so the clip starts at 0 and written to an MP4 with the moov atom first (`+faststart`) so a
browser can start playing before the whole body arrives.

`source` may be a local path or an http(s) URL (e.g. an S3 presigned URL). FFmpeg's http protocol reads
with byte ranges, so after parsing the moov only the bytes of the needed samples are fetched.

Frame numbering: frame index = round((pts - first_pts) * time_base * fps); on a CFR proxy that is the
decoded frame index. Every packet we copy is checked against that numbering (consecutive, keyframe),
so a proxy that is not all-intra/CFR is refused instead of producing a subtly wrong clip.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from heaters.adapters.files import atomic_file, sha256_of_file
from heaters.adapters.media.inputs import check_frame_range, open_video
from heaters.domain.errors import BadInput, HeatersError

# Scratch space for in-memory cuts (see cut_clip_with_info): RAM-backed where there is one.
_SCRATCH_DIR = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


@dataclass(frozen=True)
class ClipInfo:
    """What was written: the frame range, its timing, and the file's size and SHA-256."""

    start_frame: int
    end_frame: int
    fps: Fraction
    video_packets: int
    audio_packets: int
    size_bytes: int
    sha256: str

    @property
    def frame_count(self) -> int:
        return self.end_frame - self.start_frame

    @property
    def start_seconds(self) -> float:
        return float(self.start_frame / self.fps)

    @property
    def end_seconds(self) -> float:
        return float(self.end_frame / self.fps)

    @property
    def duration_seconds(self) -> float:
        return float(self.frame_count / self.fps)


def cut_clip(source: str | Path, start_frame: int, end_frame: int, out_path: Path) -> ClipInfo:
    """Write frames [start_frame, end_frame) of the proxy `source` to `out_path` (atomically)."""
    with atomic_file(Path(out_path)) as tmp_path:
        tmp_name = str(tmp_path)
        counts, fps = _cut(str(source), start_frame, end_frame, tmp_name)
        data_hash, size = sha256_of_file(Path(tmp_name))
    return ClipInfo(start_frame, end_frame, fps, counts[0], counts[1], size, data_hash)


def write_clip(source: str | Path, start_frame: int, end_frame: int, out_path: Path) -> Path:
    """The same file as `cut_clip`, without reading it back for a checksum: for playback, which never holds a
    whole clip in memory (its ranges are read from the file)."""
    with atomic_file(Path(out_path)) as tmp_path:
        _cut(str(source), start_frame, end_frame, str(tmp_path))
    return Path(out_path)


def cut_clip_bytes(source: str | Path, start_frame: int, end_frame: int) -> bytes:
    """The same clip as an in-memory MP4 (clips are small); for the review player."""
    return cut_clip_with_info(source, start_frame, end_frame)[0]


def cut_clip_with_info(source: str | Path, start_frame: int, end_frame: int) -> tuple[bytes, ClipInfo]:
    """In-memory clip plus its ClipInfo (checksum of the returned bytes)."""
    # +faststart rewrites the finished file by reopening it by name, so the muxer needs a real file;
    # a RAM-backed directory keeps that off the disk.
    with tempfile.NamedTemporaryFile(suffix=".mp4", dir=_SCRATCH_DIR) as scratch:
        counts, fps = _cut(str(source), start_frame, end_frame, scratch.name)
        with open(scratch.name, "rb") as handle:
            data = handle.read()
    info = ClipInfo(start_frame, end_frame, fps, counts[0], counts[1], len(data), hashlib.sha256(data).hexdigest())
    return data, info


def _cut(source: str, start_frame: int, end_frame: int, out_file: str) -> tuple[tuple[int, int], Fraction]:
    """Copy the packets into the MP4 file `out_file`. Returns ((video, audio) packet counts, fps)."""
    check_frame_range(start_frame, end_frame)
    with open_video(source, "proxy") as proxy:
        container, vin, ain, fps, frame_index = proxy.container, proxy.video, proxy.audio, proxy.fps, proxy.frame_index
        if proxy.frames and end_frame > proxy.frames:
            raise BadInput(f"clip end frame {end_frame} is beyond the proxy's last frame ({proxy.frames} frames)")
        start_pts = proxy.pts_of(start_frame)
        if start_frame > 0:
            # Every frame is a keyframe, so a backward seek lands on the start frame itself.
            container.seek(start_pts, stream=vin, backward=True, any_frame=False)

        start_time = Fraction(start_frame) / fps
        end_time = Fraction(end_frame) / fps
        with av.open(out_file, "w", format="mp4", options={"movflags": "+faststart"}) as out:
            vout = out.add_stream_from_template(vin)
            aout = out.add_stream_from_template(ain) if ain is not None else None
            counts = _copy_packets(
                container, vin, ain, vout, aout, frame_index, start_frame, end_frame, start_pts, start_time, end_time
            )
    if counts[0] != end_frame - start_frame:
        raise BadInput(
            f"proxy ended after {start_frame + counts[0]} frames; clip [{start_frame}, {end_frame}) is beyond it"
        )
    return counts, fps


def _copy_packets(
    container, vin, ain, vout, aout, frame_index, start_frame, end_frame, start_pts, start_time, end_time
) -> tuple[int, int]:
    out = vout.container
    streams = [vin] + ([ain] if ain is not None else [])
    atb = Fraction(ain.time_base) if ain is not None else None
    audio_shift = round(start_time / atb) if ain is not None else 0
    audio_end = round(end_time / atb) if ain is not None else 0
    audio_first = (ain.start_time or 0) if ain is not None else 0
    expected = start_frame
    n_video = n_audio = 0
    video_done = False
    audio_done = ain is None
    for packet in container.demux(*streams):
        if packet.pts is None or packet.size == 0:
            continue  # demuxer flush packets
        if packet.stream is vin:
            if video_done:
                continue
            index = frame_index(packet.pts)
            if index < start_frame:
                continue  # a seek may land early on some demuxers; skip to the start frame
            if index >= end_frame:
                video_done = True
            else:
                if index != expected:
                    raise HeatersError(
                        f"proxy frame numbering is not constant-rate: expected frame {expected}, got {index}"
                    )
                if not packet.is_keyframe:
                    raise BadInput(f"proxy frame {index} is not a keyframe; the proxy must be all-intra")
                # pts and dts are equal for all-intra video; shift both so the clip starts at 0.
                packet.pts -= start_pts
                packet.dts = packet.pts
                packet.stream = vout
                out.mux(packet)
                expected += 1
                n_video += 1
                if expected == end_frame:
                    video_done = True
        else:
            pts = packet.pts - audio_first
            packet_end = pts + (packet.duration or 0)
            if pts >= audio_end:
                audio_done = True
            elif packet_end > audio_shift or (packet.duration == 0 and pts >= audio_shift):
                # Overlaps [start, end): keep. The first may start slightly before 0 (an edit list
                # in the output hides the lead-in), which keeps the audio sample-aligned.
                packet.pts = pts - audio_shift
                packet.dts = packet.pts
                packet.stream = aout
                out.mux(packet)
                n_audio += 1
        if video_done and audio_done:
            break
    return n_video, n_audio
