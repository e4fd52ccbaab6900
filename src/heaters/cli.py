"""The `heaters` command line. Thin: each command parses options and calls a service or adapter."""

from __future__ import annotations

import typer

app = typer.Typer(help="Heaters: long videos in, a curated, searchable clip library out.", no_args_is_help=True)


def main() -> None:
    app()
