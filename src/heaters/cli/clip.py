"""`heaters clip PROXY START_FRAME END_FRAME OUT`: cut a clip from a proxy without a database."""

from __future__ import annotations

from pathlib import Path

import typer

from heaters.services.tools import cut_file


def clip_command(
    proxy: str = typer.Argument(..., help="All-intra proxy MP4: a local path or an http(s) URL."),
    start_frame: int = typer.Argument(..., help="First frame of the clip (0-based, inclusive)."),
    end_frame: int = typer.Argument(..., help="Frame after the last one (exclusive)."),
    out: Path = typer.Argument(..., help="Output MP4 file."),
) -> None:
    """Cut frames [START_FRAME, END_FRAME) of PROXY into OUT by stream copy (frame exact, no re-encode)."""
    info = cut_file(proxy, start_frame, end_frame, out)
    typer.echo(
        f"{out}: frames {info.start_frame}-{info.end_frame} ({info.frame_count} frames, "
        f"{info.duration_seconds:.3f} s at {float(info.fps):g} fps), {info.audio_packets} audio packets, "
        f"{info.size_bytes} bytes, sha256 {info.sha256}"
    )
