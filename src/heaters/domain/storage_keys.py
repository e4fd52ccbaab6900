"""The storage key layout: the one place that says where each object lives in the object store.

Every key is a relative, `/`-separated path made of a small safe alphabet, so the same key works as an
S3 object name and as a path under the local storage root. Keys are deterministic: computing a key twice
for the same inputs (e.g. a retried job) gives the same key, so a retry overwrites its own half-finished
work instead of leaving an orphan next to it.

Layout (ids are database ids; `{ext}` is a lower-case extension):

    originals/{video_id}/original.{ext}        the file as ingested
    masters/{video_id}/master.mkv              lossless FFV1 archive (archival storage class)
    proxies/{video_id}/proxy.mp4               all-intra H.264 review/export proxy
    features/{video_id}/features.npy           per-frame features for shot detection
    clips/{video_id}/{clip_id}_{start}-{end}.mp4   exported clip (frame range, zero-padded)
    keyframes/{clip_id}/{position}.{ext}       keyframe images of an exported clip
    manifests/{video_id}/manifest.jsonl        export manifest of a video
    chunks/{video_id}/{chunk}/{name}           a chunk's segment of a long video's preprocessing
                                               (chunk: 0, 1, … or `audio`), until it is assembled

Pure: no filesystem access; `validate_key` is string checks only. The adapters re-check containment
against the real filesystem (symlinks) because only they can.
"""

from __future__ import annotations

import re

from heaters.domain.errors import BadInput

ORIGINALS = "originals/"
MASTERS = "masters/"
PROXIES = "proxies/"
FEATURES = "features/"
CLIPS = "clips/"
KEYFRAMES = "keyframes/"
MANIFESTS = "manifests/"
CHUNKS = "chunks/"
PREFIXES: tuple[str, ...] = (ORIGINALS, MASTERS, PROXIES, FEATURES, CLIPS, KEYFRAMES, MANIFESTS, CHUNKS)
CHUNK_FILES = frozenset({"master.mkv", "proxy.mp4", "features.npy", "audio.mka", "audio.m4a"})

# S3 caps object names at 1024 bytes; keeping well under it leaves room for a bucket prefix.
MAX_KEY_LENGTH = 900
# A deliberately small alphabet: every key is produced by this module, so nothing legitimate needs
# spaces, colons (Windows drive letters, URL schemes), `%`, quotes or non-ASCII.
# Segments may not start with a dot: that rules out `.`/`..` and keeps the local backend's hidden temp
# files (`.tmp-*`) out of the key space.
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_EXT = re.compile(r"[a-z0-9]{1,10}")
_POSITION = re.compile(r"[A-Za-z0-9_-]{1,64}")


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a safe relative object key; raise BadInput otherwise.

    Refused: empty, absolute (`/x`), trailing `/`, empty segments (`a//b`), `.` or `..` segments (any
    segment starting with a dot), backslashes, NUL/control characters, anything outside
    `[A-Za-z0-9._-/]`, longer than MAX_KEY_LENGTH.
    """
    if not isinstance(key, str):
        raise BadInput(f"storage key must be a string, got {type(key).__name__}")
    if not key:
        raise BadInput("storage key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise BadInput(f"storage key is longer than {MAX_KEY_LENGTH} characters")
    if key.startswith("/"):
        raise BadInput(f"storage key must be relative, got {key!r}")
    if "\\" in key:
        raise BadInput(f"storage key must not contain backslashes: {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise BadInput(f"storage key has an empty, '.' or '..' segment: {key!r}")
        if not _SEGMENT.fullmatch(segment):
            raise BadInput(f"storage key segment starts with '.' or has characters outside [A-Za-z0-9._-/]: {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty (everything) or a key-like string that may end with `/`."""
    if prefix == "":
        return prefix
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def _id(value: int | str, what: str) -> str:
    if isinstance(value, bool):
        raise BadInput(f"{what} must be an id, got a boolean")
    if isinstance(value, int):
        if value < 0:
            raise BadInput(f"{what} must not be negative, got {value}")
        return str(value)
    if isinstance(value, str) and _ID.fullmatch(value):
        return value
    raise BadInput(f"{what} must be an integer or a simple token [A-Za-z0-9_-], got {value!r}")


def _ext(ext: str) -> str:
    normalised = ext.lower().lstrip(".")
    if not _EXT.fullmatch(normalised):
        raise BadInput(f"file extension must be 1-10 letters or digits, got {ext!r}")
    return normalised


def original_key(video_id: int | str, filename_ext: str) -> str:
    """`originals/{id}/original.{ext}`; `filename_ext` is an extension (`mp4`, `.MKV`)."""
    return f"{ORIGINALS}{_id(video_id, 'video id')}/original.{_ext(filename_ext)}"


def master_key(video_id: int | str) -> str:
    return f"{MASTERS}{_id(video_id, 'video id')}/master.mkv"


def proxy_key(video_id: int | str) -> str:
    return f"{PROXIES}{_id(video_id, 'video id')}/proxy.mp4"


def features_key(video_id: int | str) -> str:
    return f"{FEATURES}{_id(video_id, 'video id')}/features.npy"


def chunk_key(video_id: int | str, chunk: int, name: str) -> str:
    """A chunk's segment file (`name` one of CHUNK_FILES); chunk -1 is the video's audio."""
    if name not in CHUNK_FILES:
        raise BadInput(f"unknown chunk file {name!r}")
    part = "audio" if chunk == -1 else _id(int(chunk), "chunk index")
    return f"{CHUNKS}{_id(video_id, 'video id')}/{part}/{name}"


def chunks_prefix(video_id: int | str) -> str:
    return f"{CHUNKS}{_id(video_id, 'video id')}/"


def clip_key(video_id: int | str, clip_id: int | str, start_frame: int, end_frame: int) -> str:
    """Exported clip of frames [start_frame, end_frame) (half-open, proxy frame grid).

    The frame range is part of the name so a clip resized by a cut-point operation and exported again
    never collides with its earlier export. Zero-padded so keys sort in timeline order.
    """
    for name, frame in (("start_frame", start_frame), ("end_frame", end_frame)):
        if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
            raise BadInput(f"{name} must be a non-negative integer, got {frame!r}")
    if end_frame <= start_frame:
        raise BadInput(f"clip frame range is empty: [{start_frame}, {end_frame})")
    vid = _id(video_id, "video id")
    cid = _id(clip_id, "clip id")
    return f"{CLIPS}{vid}/{cid}_{start_frame:08d}-{end_frame:08d}.mp4"


def keyframe_key(clip_id: int | str, position: int | str, ext: str = "jpg") -> str:
    """Keyframe of a clip. `position` is an int (a percent or frame index, zero-padded to 3 digits so
    25 < 50 < 100 sort right) or a short token such as `f0012` or `p25`."""
    if isinstance(position, bool):
        raise BadInput("keyframe position must be an int or a token, got a boolean")
    if isinstance(position, int):
        if position < 0:
            raise BadInput(f"keyframe position must not be negative, got {position}")
        label = f"{position:03d}"
    elif isinstance(position, str) and _POSITION.fullmatch(position):
        label = position
    else:
        raise BadInput(f"keyframe position must be an int or a token [A-Za-z0-9_-], got {position!r}")
    return f"{KEYFRAMES}{_id(clip_id, 'clip id')}/{label}.{_ext(ext)}"


def manifest_key(video_id: int | str) -> str:
    return f"{MANIFESTS}{_id(video_id, 'video id')}/manifest.jsonl"
