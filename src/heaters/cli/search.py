"""`heaters search`: similar clips by example or by text."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from heaters.cli.pipeline import _runtime

console = Console()


def search(
    like: int | None = typer.Option(None, "--like", help="Find clips similar to this clip id."),
    text: str | None = typer.Option(None, "--text", help="Find clips matching this text (CLIP-style model)."),
    k: int = typer.Option(12, "-k", help="How many clips to return."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Similar-clip search, by example clip or by text."""
    from heaters.services import search as search_service

    if (like is None) == (text is None):
        raise typer.BadParameter("give exactly one of --like CLIP_ID or --text TEXT")
    runtime = _runtime()
    if like is not None:
        hits = search_service.similar_to_clip(runtime, like, k)
    else:
        hits = search_service.similar_to_phrase(runtime, text, k)
    if as_json:
        typer.echo(json.dumps({"query": {"like": like, "text": text, "k": k}, "results": [h.as_json() for h in hits]}))
        return
    table = Table(title=f"clips like {like}" if like is not None else f"clips matching {text!r}")
    for column in ("clip", "similarity", "video", "frames", "file"):
        table.add_column(column)
    for hit in hits:
        table.add_row(
            str(hit.clip_id),
            f"{1 - hit.distance:.3f}",
            f"{hit.video_id} {hit.video_title[:30]}",
            f"{hit.start_frame}-{hit.end_frame}",
            hit.export_key or "",
        )
    console.print(table)
