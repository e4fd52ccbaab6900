"""`heaters detect VIDEO [--json]`: shot boundaries of any video file, without a database."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from heaters.services.tools import detect_file


def detect_command(
    video: Path = typer.Argument(..., help="Any video file FFmpeg can decode."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help='Print {"frames", "fps", "cuts", "boundaries": [{"frame", "kind", "span", "confidence"}], "suggested"}.',
    ),
    min_shot_frames: int | None = typer.Option(
        None, "--min-shot-frames", min=1, help="Shortest shot kept (default: a few frames, at most 0.25 s)."
    ),
) -> None:
    """Detect shot boundaries: each cut is the first frame (0-based) of a new shot."""
    frames, fps, detection = detect_file(video, min_shot_frames)
    cuts = detection.cuts
    if as_json:
        payload = {
            "frames": frames,
            "fps": fps,
            "cuts": cuts,
            "boundaries": [b.to_json() for b in detection.boundaries],
            "suggested": [b.to_json() for b in detection.suggested],
        }
        typer.echo(json.dumps(payload))
        return
    listed = ", ".join(str(c) for c in cuts) if cuts else "none"
    typer.echo(f"{video}: {frames} frames at {fps:.3f} fps, {len(cuts) + 1 if frames else 0} shots; cuts at {listed}")
    unsure = [b for b in detection.boundaries if b.confidence < 0.8]
    if unsure or detection.suggested:
        notes = [f"{b.frame} ({b.kind}, {b.confidence:.2f})" for b in unsure]
        notes += [f"{b.frame}? ({b.kind}, {b.confidence:.2f})" for b in detection.suggested]
        typer.echo(f"  unsure: {', '.join(notes)}")
