"""Per-frame analysis features for shot detection, collected during the one decode pass.

CONTRACT (used by preprocessing and by `heaters detect`; keep it stable):
- `FeatureCollector().add(frame: av.VideoFrame)` for every decoded frame, in order;
- `.result() -> numpy.ndarray` of shape (frame_count, D), the input of `heaters.domain.shots`;
- `save_features(path, array)` / `load_features(path)` persist it (`features.npy`).
- `decode_features(path) -> (features, fps, frame_count)` decodes a file on its own (standalone detect).

What a feature row holds is owned by `heaters.domain.shots.frame_features` (uint8, 960 bytes a frame).
This adapter only hands it the frame's planes. It reads them in place (no full-resolution conversion or
scaling: the domain samples a sparse grid), so collecting features costs far less than the decode.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from heaters.adapters.media.inputs import open_media
from heaters.domain.errors import BadInput
from heaters.domain.framegrid import DEFAULT_FPS
from heaters.domain.shots import FEATURE_SIZE, SAMPLE_SHAPES, features_of_samples, frame_features, frame_samples

# 8-bit planar YUV layouts whose planes can be read directly (full- or limited-range alike)
_PLANAR_YUV = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv411p", "yuv410p"}
_FALLBACK_SIZE = (256, 144)  # other pixel formats are first converted to small yuv420p by swscale


def _plane(plane: av.video.plane.VideoPlane) -> np.ndarray:
    rows = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
    return rows[: plane.height, : plane.width]


def _planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if frame.format.name not in _PLANAR_YUV:
        frame = frame.reformat(width=_FALLBACK_SIZE[0], height=_FALLBACK_SIZE[1], format="yuv420p")
    y, u, v = (_plane(p) for p in frame.planes[:3])
    return y, u, v


def features_of(frame: av.VideoFrame) -> np.ndarray:
    return frame_features(*_planes(frame))


_BATCH = 64  # frames whose samples are turned into feature rows at once (numpy's per-call cost, shared)


class FeatureCollector:
    """Per frame only the samples are taken (while the frame is at hand); rows are made a batch at once."""

    def __init__(self) -> None:
        self._rows: list[np.ndarray] = []
        self._samples = [np.empty((_BATCH, *shape), dtype=np.uint8) for shape in SAMPLE_SHAPES]
        self._pending = 0

    def add(self, frame: av.VideoFrame) -> None:
        for buffer, samples in zip(self._samples, frame_samples(*_planes(frame)), strict=True):
            buffer[self._pending] = samples
        self._pending += 1
        if self._pending == _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._rows.append(features_of_samples(*(b[: self._pending] for b in self._samples)))
            self._pending = 0

    def result(self) -> np.ndarray:
        self._flush()
        if not self._rows:
            return np.zeros((0, FEATURE_SIZE), dtype=np.uint8)
        return np.concatenate(self._rows)


def save_features(path: Path, features: np.ndarray) -> None:
    np.save(path, features, allow_pickle=False)


def load_features(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)


class FeatureRows:
    """Rows [a, b) of a features .npy file, read on demand: a long video's features are never in memory
    whole. Plain reads, not a memory map: the pages of a mapped file stay in the process's resident set once
    touched, so a scan over a 6-hour video would grow it to the whole file (~1.3 GB)."""

    def __init__(self, path: Path):
        self._file = open(path, "rb")  # noqa: SIM115 — closed by close() / the with block
        try:
            version = np.lib.format.read_magic(self._file)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in read_header:
                raise ValueError(f"npy format version {version}")
            shape, fortran, dtype = read_header[version](self._file)
        except ValueError as error:
            self._file.close()
            raise BadInput(f"{Path(path).name} is not a features file ({error})") from error
        if len(shape) != 2 or fortran or dtype != np.uint8:
            self._file.close()
            raise BadInput(f"{Path(path).name} holds {dtype} rows of shape {shape}, not features")
        self.count, self.width = shape
        self._offset = self._file.tell()

    def __len__(self) -> int:
        return self.count

    def read(self, first: int, stop: int) -> np.ndarray:
        first, stop = max(0, first), min(self.count, stop)
        rows = max(0, stop - first)
        self._file.seek(self._offset + first * self.width)
        data = self._file.read(rows * self.width)
        if len(data) != rows * self.width:
            raise BadInput(f"the features file ends before row {stop}")
        return np.frombuffer(data, dtype=np.uint8).reshape(rows, self.width)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> FeatureRows:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def decode_features(path: Path | str) -> tuple[np.ndarray, float, int]:
    """Decode every frame of the first video stream (threaded) and return (features, fps, frame_count).

    Raises BadInput when the file cannot be opened or holds no video stream.
    """
    collector = FeatureCollector()
    try:
        with open_media(path, str(path)) as container:
            if not container.streams.video:
                raise BadInput(f"{path}: no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            # Deblocking only polishes block edges; at the features' 32x18 scale it changes nothing
            # that matters (same results on the dev set) and skipping it speeds H.264/HEVC decoding.
            stream.codec_context.options = {"skip_loop_filter": "all"}
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else DEFAULT_FPS
            for frame in container.decode(stream):
                collector.add(frame)
    except (av.FFmpegError, OSError) as exc:
        raise BadInput(f"{path}: cannot decode video ({exc})") from exc
    features = collector.result()
    return features, fps, len(features)
