"""`heaters detect VIDEO [--json]`: shot boundaries of any video file, without a database."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from heaters.services.tools import detect_file


def detect_command(
    video: Path = typer.Argument(..., help="Any video file FFmpeg can decode."),
    as_json: bool = typer.Option(False, "--json", help='Print {"frames": N, "fps": F, "cuts": [...]}.'),
    min_shot_seconds: float = typer.Option(1.0, "--min-shot-seconds", min=0.0, help="Shortest shot kept."),
) -> None:
    """Detect shot boundaries: each cut is the first frame (0-based) of a new shot."""
    frames, fps, cuts = detect_file(video, min_shot_seconds)
    if as_json:
        typer.echo(json.dumps({"frames": frames, "fps": fps, "cuts": cuts}))
        return
    listed = ", ".join(str(c) for c in cuts) if cuts else "none"
    typer.echo(f"{video}: {frames} frames at {fps:.3f} fps, {len(cuts) + 1 if frames else 0} shots; cuts at {listed}")
