"""`heaters preprocess INPUT --out DIR [--json] [--crf N]`: master, proxy and features, without a database."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from heaters.config import Settings
from heaters.services.tools import preprocess_file


def preprocess_command(
    source: Path = typer.Argument(..., help="Any video file FFmpeg can decode."),
    out: Path = typer.Option(..., "--out", help="Directory for master.mkv, proxy.mp4 and features.npy."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
    crf: int | None = typer.Option(None, "--crf", min=0, max=51, help="Proxy CRF (default: settings, 20)."),
) -> None:
    """Decode INPUT once into a lossless FFV1 master, an all-intra H.264 proxy and shot-detection features."""
    result = preprocess_file(source, out, Settings(), crf)
    if as_json:
        typer.echo(json.dumps(result.summary()))
        return
    typer.echo(
        f"{source}: {result.frame_count} frames at {float(result.fps):.3f} fps, proxy {result.width}x{result.height}"
        f"{', audio' if result.has_audio else ''}; wrote {result.master_path}, {result.proxy_path}, "
        f"{result.features_path} in {result.seconds['total']:.1f} s"
    )


if __name__ == "__main__":  # `python -m heaters.cli.preprocess …`: the whole CLI's error handling
    from heaters.cli import main

    main(["preprocess", *__import__("sys").argv[1:]])
