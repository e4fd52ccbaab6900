"""The `heaters` command line. Thin: each command parses options and calls a service or adapter."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from heaters.config import Settings

app = typer.Typer(help="Heaters: long videos in, a curated, searchable clip library out.", no_args_is_help=True)
console = Console()


def _runtime():
    from heaters.runtime import open_runtime

    return open_runtime(Settings())


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Run the review web app (with the embedded database unless HEATERS_DATABASE_URL is set)."""
    import uvicorn

    from heaters.web.app import create_app

    runtime = _runtime()
    console.print(f"Heaters is running at [bold]http://{host}:{port}/[/bold] (data in {runtime.settings.data_path})")
    uvicorn.run(create_app(runtime), host=host, port=port, log_level="warning")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON.")) -> None:
    """Videos and clips by state."""
    from heaters.services.status import status_counts

    counts = status_counts(_runtime().database)
    if as_json:
        typer.echo(json.dumps(counts.as_json()))
        return
    for title, by_state in (("Videos", counts.videos), ("Clips", counts.clips)):
        table = Table(title=title)
        table.add_column("state")
        table.add_column("count", justify="right")
        for state, count in by_state.items():
            table.add_row(state, str(count))
        console.print(table)


from heaters.cli_clip import clip_command  # noqa: E402  (standalone clip cutting, no database)

app.command("clip")(clip_command)

from heaters.cli_detect import detect_command  # noqa: E402  (standalone shot detection, no database)

app.command("detect")(detect_command)


def main() -> None:
    app()
