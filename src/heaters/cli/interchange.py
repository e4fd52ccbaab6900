"""`heaters export-timeline` and `heaters export-dataset`: the review as an editor's timeline, the library
as WebDataset shards."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from heaters.cli.pipeline import _runtime
from heaters.domain.errors import BadInput

console = Console()


def export_timeline(
    video_id: int = typer.Argument(..., help="The video whose review to export."),
    out: Path = typer.Argument(..., help="File to write (use - for standard output)."),
    format_name: str = typer.Option(
        "otio", "--format", help="otio (OpenTimelineIO JSON), edl (CMX 3600), or any installed OTIO adapter."
    ),
) -> None:
    """The video's approved clips (and, disabled, its archived ones) as an OpenTimelineIO timeline or EDL."""
    from heaters.services.interchange import export_timeline as build

    timeline = build(_runtime(), video_id, format_name)
    if str(out) == "-":
        typer.echo(timeline.data.decode(), nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.tmp")
    temp.write_bytes(timeline.data)
    temp.replace(out)
    console.print(f"video {video_id}: {timeline.clips} clips → {out} ({timeline.format})", soft_wrap=True)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--since wants a date or time such as 2026-12-01 or 2026-12-01T08:00, got {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def export_dataset(
    out_dir: Path = typer.Argument(..., help="Directory of the dataset's shards (created if missing)."),
    shard_size: str = typer.Option("1GB", "--shard-size", help="Target shard size: 1GB, 500MB, 2GiB, …"),
    video: list[int] = typer.Option([], "--video", help="Only clips of this video (repeat for several)."),
    since: str | None = typer.Option(None, "--since", help="Only clips exported at or after this date (UTC)."),
    embeddings: bool = typer.Option(True, "--embeddings/--no-embeddings", help="Add each clip's embedding (.npy)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run's summary as JSON."),
) -> None:
    """Ship exported clips not yet in OUT_DIR as WebDataset shards (MP4 + keyframes + JSON [+ .npy])."""
    from heaters.domain.interchange import parse_size
    from heaters.services.interchange import export_dataset as ship

    size = parse_size(shard_size)
    when = _since(since)
    runtime = _runtime()
    columns = (
        TextColumn("shipping"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("clips · {task.fields[written]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=as_json, transient=False) as bars:
        task = bars.add_task("clips", total=None, written="")

        def progress(done: int, total: int, written: int) -> None:
            bars.update(task, completed=done, total=total, written=f"{written / 1e6:,.1f} MB written")

        def shard_done(name: str, clips: int) -> None:
            if not as_json:
                bars.console.print(f"  {name}: {clips} clips")

        run = ship(
            runtime,
            out_dir,
            shard_size=size,
            video_ids=video,
            since=when,
            embeddings=embeddings,
            progress=progress,
            on_shard=shard_done,
        )
    if as_json:
        typer.echo(json.dumps(run.as_json()))
        return
    for name in run.recovered:
        console.print(f"finished {name}, left by an interrupted run")
    for name in run.removed:
        console.print(f"removed {name}, left unfinished by an interrupted run (its clips are shipped again)")
    if run.clips:
        console.print(f"shipped {run.clips} clips in {len(run.shards)} shards ({run.bytes:,} bytes) to {run.dataset}")
    else:
        console.print(f"nothing new to ship to {run.dataset}")
