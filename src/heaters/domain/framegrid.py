"""The proxy's constant-frame-rate grid: which rate to use, and where each source frame lands on it.

Pure arithmetic over timestamps, so VFR handling is testable without media. Shot detection, clips and
export all index frames on this grid (frame n starts at n / rate seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

# Rates people actually deliver; a VFR source's average is snapped to one of these when close.
STANDARD_RATES = (
    Fraction(24000, 1001),
    Fraction(24),
    Fraction(25),
    Fraction(30000, 1001),
    Fraction(30),
    Fraction(48),
    Fraction(50),
    Fraction(60000, 1001),
    Fraction(60),
)
MAX_RATE = Fraction(240)


def choose_output_rate(average: Fraction | None, nominal: Fraction | None) -> Fraction:
    """The proxy frame rate.

    CFR (nominal and average agree within 1%): the nominal rate, so frame n of the source is frame n of
    the proxy. VFR: the nominal rate (FFmpeg's r_frame_rate, the rate that represents every timestamp —
    usually the camera's top rate) when it snaps to a standard rate, so bursts are not dropped; else the
    average snapped to a standard rate; else the average rounded to 1/1000 fps.
    """
    nominal = nominal if nominal and 0 < nominal <= MAX_RATE else None
    average = average if average and 0 < average <= MAX_RATE else None
    if nominal and average and abs(nominal - average) / average < Fraction(1, 100):
        return nominal
    for rate in (nominal, average):
        if rate and (standard := _snap_to_standard(rate)):
            return standard
    if average:
        return Fraction(round(average * 1000), 1000)
    return nominal or Fraction(25)


def _snap_to_standard(rate: Fraction) -> Fraction | None:
    closest = min(STANDARD_RATES, key=lambda r: abs(r - rate))
    return closest if abs(closest - rate) / rate <= Fraction(15, 1000) else None


# A frame may sit one slot off its own time (timestamp jitter) for at most this many frames in a row; the
# next one goes back to its own slot (a drop or a repeat). Without the bound, the offset a source drifting
# slowly against the grid picks up would persist for any length, so where a frame lands would depend on the
# whole history: a chunk resumed mid-video could not know it (see `ResumedGrid`).
MAX_DISPLACED_RUN = 8
# Frames a resumed grid is given to settle: a CFR source settles within MAX_DISPLACED_RUN + 1 frames, one
# drifting against the grid within a few such runs (tests/domain/test_framegrid.py).
RESUME_SETTLE_FRAMES = 3 * MAX_DISPLACED_RUN


@dataclass
class GridMapper:
    """Maps source frame timestamps to grid slots, one frame at a time (streaming).

    A frame within `tolerance` slots of the next free slot takes that slot, so timestamp jitter and
    reordering glitches never drop or repeat frames of a CFR source (proxy frame n = decoded frame n).
    A real gap (a VFR pause, AVI null frames) is filled by repeating the previous frame, which is still
    on screen then; a frame arriving more than `tolerance` slots early (VFR faster than the grid) is
    dropped. Timing error stays within `tolerance` frames, and lasts at most `max_displaced` frames in a
    row: then a frame off its own slot is put back on it (an early one is dropped, a late one repeats the
    previous frame), which makes where a frame lands depend on a bounded stretch of the past.
    """

    rate: Fraction
    tolerance: int = 1
    start: float | None = None
    next_slot: int = 0
    duplicated: int = 0
    dropped: int = 0
    max_displaced: int = MAX_DISPLACED_RUN
    displaced_run: int = 0  # frames in a row placed off their own slot

    def place(self, time: float | None) -> tuple[int, int]:
        """Return (repeats_of_previous, emit) for a frame at `time` seconds: the previous frame is
        repeated `repeats_of_previous` times, then this frame is emitted `emit` (0 or 1) times."""
        if time is None or self.next_slot == 0:  # no timestamp: trust decode order; first frame: slot 0
            if self.start is None and time is not None:
                self.start = time
            self.next_slot += 1
            self.displaced_run = 0
            return 0, 1
        if self.start is None:
            self.start = time
        slot = round((time - self.start) * self.rate)
        if slot < self.next_slot - self.tolerance:
            self.dropped += 1
            return 0, 0
        repeats = 0
        if slot > self.next_slot + self.tolerance:
            repeats = slot - self.next_slot
            self.displaced_run = 0
        elif slot == self.next_slot:
            self.displaced_run = 0
        elif self.displaced_run >= self.max_displaced:  # off its slot for too long: back onto it
            if slot < self.next_slot:
                self.dropped += 1
                return 0, 0
            repeats = slot - self.next_slot
            self.displaced_run = 0
        else:
            self.displaced_run += 1
        self.duplicated += repeats
        self.next_slot += repeats + 1
        return repeats, 1

    def resume_at(self, time: float) -> int:
        """Continue the grid at a frame found by seeking (`start` already set to the first frame's time):
        that frame takes its own slot, which is returned."""
        if self.start is None:
            raise ValueError("a resumed grid needs the time of the video's first frame as its start")
        self.next_slot = max(0, round((time - self.start) * self.rate))
        return self.next_slot

    def state(self) -> tuple[int, int]:
        return self.next_slot, self.displaced_run


class GridNotSettled(ValueError):
    """A resumed grid could not prove, before the slots it must write, that it places frames as a pass
    from the start of the video does: resume from further back."""


class ResumedGrid:
    """A `GridMapper` resumed at a frame found by seeking, which proves it places frames exactly as a
    pass from the video's first frame would.

    The pass from the start arrives at the resumed frame in a state that depends on frames not decoded
    here. Every state it can be in is run alongside (next free slot within `tolerance + 1` of the frame's
    own slot, any displaced run, an unknown previous frame); once all of them have reached the same state
    after the same frame, every later placement is the one the whole pass makes. Placing a frame that
    writes slot `settle_by` or later before that has happened raises `GridNotSettled`. Only the mapper
    that puts the resumed frame on its own slot places frames (`place`); the others are dropped once
    they agree with it.
    """

    def __init__(self, rate: Fraction, start: float, time: float, settle_by: int, tolerance: int = 1) -> None:
        self.mapper = GridMapper(rate, tolerance=tolerance, start=start)
        self.first_slot = self.mapper.resume_at(time)
        self.settle_by = settle_by
        own = self.first_slot
        # (mapper, index of the last frame it emitted, None: one before the resumed frame)
        self._candidates: list[tuple[GridMapper, int | None]] | None = [
            (GridMapper(rate, tolerance=tolerance, start=start, next_slot=max(1, slot), displaced_run=run), None)
            for slot in range(own - tolerance - 1, own + 2 * tolerance + 1)
            for run in range(MAX_DISPLACED_RUN + 1)
        ]
        self._frames = 0  # frames placed so far
        self._last: int | None = None  # the last frame `mapper` emitted

    @property
    def settled(self) -> bool:
        return self._candidates is None

    def place(self, time: float | None) -> tuple[int, int]:
        """As `GridMapper.place`; raises GridNotSettled instead of writing slot `settle_by` or later
        unproven."""
        if self.settled:
            return self.mapper.place(time)
        if time is None:
            raise GridNotSettled("a frame without a timestamp before the resumed grid settled")
        writes_from = self.mapper.next_slot
        repeats, emit = self.mapper.place(time)
        if repeats + emit and writes_from + repeats + emit > self.settle_by:
            raise GridNotSettled(f"the resumed grid did not settle before slot {self.settle_by}")
        self._last = self._frames if emit else self._last
        states = set()
        followed = []
        for mapper, last in self._candidates:
            _, emitted = mapper.place(time)
            last = self._frames if emitted else last
            state = (*mapper.state(), last)
            if state not in states:
                states.add(state)
                followed.append((mapper, last))
        self._candidates = None if states == {(*self.mapper.state(), self._last)} else followed
        self._frames += 1
        return repeats, emit


@dataclass
class TimestampGuesser:
    """FFmpeg's `best_effort_timestamp` rule: trust presentation timestamps unless they go backwards more
    often than decode timestamps do (AVI with packed B-frames reports PTS in decode order)."""

    faulty_pts: int = 0
    faulty_dts: int = 0
    last_pts: int | None = None
    last_dts: int | None = None

    def best(self, pts: int | None, dts: int | None) -> int | None:
        if dts is not None:
            self.faulty_dts += self.last_dts is not None and dts <= self.last_dts
            self.last_dts = dts
        if pts is not None:
            self.faulty_pts += self.last_pts is not None and pts <= self.last_pts
            self.last_pts = pts
        if pts is not None and (self.faulty_pts <= self.faulty_dts or dts is None):
            return pts
        return dts


# A video whose rate is not known yet (not preprocessed) is shown on this grid; every reader uses this one.
DEFAULT_FPS = 25.0


def fps_or_default(fps: float | None) -> float:
    return fps or DEFAULT_FPS


def frames_in(seconds: float, fps: float | None) -> int:
    """How many frames `seconds` span on the grid (at least one): the one formula for minimum lengths."""
    return max(1, round(seconds * fps_or_default(fps)))
