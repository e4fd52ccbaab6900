"""Keyframe strategy: which frames of a clip represent it (for thumbnails and embeddings).

`Settings.keyframe_strategy` is a small string, e.g. "percent:25,50,75" (the default): frames at those
fractions of the clip's length. Pure: parsing and index arithmetic only.
"""

from __future__ import annotations

from dataclasses import dataclass

from heaters.domain.errors import BadInput

DEFAULT_STRATEGY = "percent:25,50,75"


@dataclass(frozen=True)
class KeyframeStrategy:
    percents: tuple[int, ...]

    @property
    def name(self) -> str:
        """Canonical text form, stored beside embeddings so vectors from different strategies never mix."""
        return "percent:" + ",".join(str(p) for p in self.percents)


@dataclass(frozen=True)
class KeyframePick:
    """One keyframe to extract: its label (the percent, used in the storage key) and clip-relative frame."""

    percent: int
    frame_index: int


def parse_keyframe_strategy(text: str) -> KeyframeStrategy:
    """Parse "percent:P1,P2,…" (integers 0–100, at least one, no repeats; spaces allowed)."""
    kind, sep, values = (text or "").strip().partition(":")
    if kind.strip().lower() != "percent" or not sep:
        raise BadInput(f"keyframe strategy must look like 'percent:25,50,75', got {text!r}")
    percents: list[int] = []
    for raw in values.split(","):
        raw = raw.strip()
        if not raw.isdigit():
            raise BadInput(f"keyframe strategy percent must be a whole number 0-100, got {raw!r} in {text!r}")
        value = int(raw)
        if value > 100:
            raise BadInput(f"keyframe strategy percent must be at most 100, got {value} in {text!r}")
        if value in percents:
            raise BadInput(f"keyframe strategy repeats {value}% in {text!r}")
        percents.append(value)
    return KeyframeStrategy(tuple(sorted(percents)))


def keyframe_picks(strategy: KeyframeStrategy, frame_count: int) -> list[KeyframePick]:
    """The clip-relative frame of each percent: floor(p/100 · frame_count), kept inside the clip (100 % is
    the last frame). A very short clip may map several percents to the same frame; each is kept so
    every clip has the same set of keyframe labels."""
    if isinstance(frame_count, bool) or not isinstance(frame_count, int) or frame_count <= 0:
        raise BadInput(f"a clip must have at least one frame, got {frame_count!r}")
    return [KeyframePick(p, min(frame_count - 1, p * frame_count // 100)) for p in strategy.percents]
