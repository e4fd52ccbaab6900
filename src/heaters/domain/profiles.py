"""Encoder profiles: the ONE place where every encoding setting of Heaters is written down.

A profile is plain data (codec name + FFmpeg option strings). The same profile drives PyAV (the options
dict is handed to `avcodec_open2` through `stream.options`, which accepts both generic options such as
`g`/`bf` and codec-private ones such as `crf`/`slicecrc`) and renders the equivalent `ffmpeg` command
line arguments, so the benchmark's peer command uses exactly the same settings as our one-pass encoder.

- master: archival, lossless: FFV1 level 3 with slice CRCs in Matroska, FLAC audio. The source pixel
  format is kept (no conversion: lossless really means the decoded pixels).
- proxy: review streaming and frame-exact stream-copy export: H.264 all-intra (every frame an IDR
  keyframe, no B-frames, no intra refresh), CRF 20 by default, yuv420p, even dimensions, constant frame
  rate, AAC audio, MP4 with the index (`moov`) in front (`+faststart`).
- export re-encode: optional highest-quality export from the master (libx264 CRF 16, preset slow).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

DEFAULT_PROXY_CRF = 20
# The proxy is re-encoded once per video and read many times; all-intra at `veryfast` keeps
# preprocessing near realtime on small machines while CRF holds the visual quality constant.
DEFAULT_PROXY_PRESET = "veryfast"
# Slices let FFV1 encode (and later decode) in parallel and bound the damage of a bit error to one
# slice; 16 is a valid level-3 slice layout (4x4) for any resolution we accept.
MASTER_SLICES = 16

Options = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class StreamProfile:
    """One encoded stream: a codec, an optional forced pixel/sample format, FFmpeg options (strings)."""

    codec: str
    options: Options = ()
    pix_fmt: str | None = None  # video: None keeps the source pixel format
    bit_rate: int | None = None  # audio: bits per second, None: the encoder's default

    def option_dict(self) -> dict[str, str]:
        return dict(self.options)


@dataclass(frozen=True)
class OutputProfile:
    """A container file with one video and (when the source has it) one audio stream."""

    name: str
    container: str  # FFmpeg muxer name
    filename: str
    video: StreamProfile
    audio: StreamProfile
    container_options: Options = field(default=())

    def container_option_dict(self) -> dict[str, str]:
        return dict(self.container_options)


def master_profile() -> OutputProfile:
    return OutputProfile(
        name="master",
        container="matroska",
        filename="master.mkv",
        video=StreamProfile(
            codec="ffv1",
            # g=1: every frame is self-contained (archival best practice: one damaged frame stays one).
            options=(("level", "3"), ("slicecrc", "1"), ("slices", str(MASTER_SLICES)), ("g", "1")),
        ),
        audio=StreamProfile(codec="flac"),
    )


def proxy_profile(crf: int = DEFAULT_PROXY_CRF, preset: str = DEFAULT_PROXY_PRESET) -> OutputProfile:
    if not 0 <= crf <= 51:
        raise ValueError(f"proxy CRF must be within 0..51, got {crf}")
    return OutputProfile(
        name="proxy",
        container="mp4",
        filename="proxy.mp4",
        video=StreamProfile(
            codec="libx264",
            pix_fmt="yuv420p",
            options=(
                ("preset", preset),
                ("crf", str(crf)),
                # All-intra: keyint 1 makes every frame an IDR, so any frame range can be cut by stream copy.
                ("g", "1"),
                ("bf", "0"),
                ("x264-params", "keyint=1:min-keyint=1:scenecut=0:intra-refresh=0"),
            ),
        ),
        audio=StreamProfile(codec="aac", bit_rate=192_000),
        container_options=(("movflags", "+faststart"),),
    )


def export_reencode_profile(crf: int = 16, preset: str = "slow") -> OutputProfile:
    """Highest-quality export re-encoded from the master (used when stream copy from the proxy is not wanted)."""
    proxy = proxy_profile()
    return replace(
        proxy,
        name="export",
        filename="export.mp4",
        video=StreamProfile(
            codec="libx264",
            pix_fmt="yuv420p",
            options=(("preset", preset), ("crf", str(crf)), ("bf", "0")),
        ),
        audio=StreamProfile(codec="aac", bit_rate=256_000),
    )


def ffmpeg_output_args(profile: OutputProfile, *, with_audio: bool, video_filter: str | None = None) -> list[str]:
    """The `ffmpeg` CLI arguments (after the inputs, before the output path) for the same settings.

    `video_filter` is an optional `-vf` chain (e.g. crop to even dimensions) to match what the one-pass
    code does to the frames before they reach this encoder.
    """
    args = ["-map", "0:v:0"]
    if with_audio:
        args += ["-map", "0:a:0"]
    if video_filter:
        args += ["-vf", video_filter]
    args += ["-c:v", profile.video.codec]
    if profile.video.pix_fmt:
        args += ["-pix_fmt", profile.video.pix_fmt]
    for key, value in profile.video.options:
        args += [f"-{key}:v", value]
    if with_audio:
        args += ["-c:a", profile.audio.codec]
        if profile.audio.bit_rate:
            args += ["-b:a", str(profile.audio.bit_rate)]
        for key, value in profile.audio.options:
            args += [f"-{key}:a", value]
    else:
        args += ["-an"]
    for key, value in profile.container_options:
        args += [f"-{key}", value]
    args += ["-f", profile.container]
    return args
